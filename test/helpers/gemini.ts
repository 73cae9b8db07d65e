// Small helpers for the Gemini integration tests.
import type { Stack } from "./stack";

export function post(stack: Stack, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(stack.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": stack.apiKey, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** SSE body → its events (split on blank lines, either line ending), comments kept as ":" lines */
export function sseEvents(text: string): string[] {
  return text.split(/\r?\n\r?\n/).filter((e) => e.length > 0);
}

/** the JSON payloads of the data events */
export function sseData(text: string): any[] {
  return sseEvents(text)
    .filter((e) => e.startsWith("data:"))
    .map((e) => JSON.parse(e.slice(5).trim()));
}

export const partsText = (chunks: any[]) =>
  chunks.map((c) => (c.candidates?.[0]?.content?.parts ?? []).map((p: any) => (p.thought ? "" : (p.text ?? ""))).join("")).join("");
