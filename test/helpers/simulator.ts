// Small helpers for the simulator tests: every call goes over real HTTP with fetch.
import type { SimAccount, Simulator } from "../../src/simulator/index";

export const CLIENT_ID = "test-client.apps.googleusercontent.com";

export async function accessToken(sim: Simulator, acc: SimAccount): Promise<string> {
  const res = await fetch(`${sim.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: "s", grant_type: "refresh_token", refresh_token: acc.refreshToken }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as any).access_token;
}

export async function v1(
  sim: Simulator,
  token: string | undefined,
  method: string,
  body: unknown = {},
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${sim.url}/v1internal:${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

export const userText = (text: string) => ({ role: "user", parts: [{ text }] });

export function envelope(
  acc: SimAccount,
  request: Record<string, unknown>,
  model = "gemini-2.5-flash",
  extra: Record<string, unknown> = {},
) {
  return { model, project: acc.project, requestId: "agent-test", requestType: "agent", userAgent: "antigravity", request, ...extra };
}

/** parse an SSE body into its JSON payloads, checking the \r\n\r\n framing */
export function sseEvents(text: string): any[] {
  if (!text.endsWith("\r\n\r\n")) throw new Error("SSE body must end with \\r\\n\\r\\n");
  return text
    .split("\r\n\r\n")
    .filter((e) => e.length)
    .map((e) => {
      if (!e.startsWith("data: ")) throw new Error(`bad SSE event: ${e.slice(0, 80)}`);
      return JSON.parse(e.slice(6));
    });
}

/** all text of a (unwrapped) response's first candidate, optionally only thoughts or only answer */
export function texts(response: any, which: "answer" | "thought" = "answer"): string {
  const parts: any[] = response?.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((p) => typeof p.text === "string" && (which === "thought" ? p.thought === true : !p.thought))
    .map((p) => p.text)
    .join("");
}

export const GENERATE_MODES = ["generateContent", "streamGenerateContent", "streamGenerateContent?alt=sse"] as const;

/** one generate call in any of the three answer shapes, reduced to status, answer text, finish and usage */
export async function generateIn(
  mode: (typeof GENERATE_MODES)[number],
  sim: Simulator,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const r = await v1(sim, token, mode, body, headers);
  if (r.status !== 200)
    return { status: r.status, json: r.json, text: "", parts: [] as any[], finishReason: undefined, usage: undefined as any };
  const chunks: any[] = mode === "generateContent" ? [r.json] : mode === "streamGenerateContent" ? r.json : sseEvents(r.text);
  const last = chunks[chunks.length - 1].response;
  return {
    status: r.status,
    json: r.json,
    text: chunks.map((c) => texts(c.response)).join(""),
    parts: chunks.flatMap((c) => c.response.candidates[0].content.parts ?? []) as any[],
    finishReason: last.candidates[0].finishReason as string,
    usage: last.usageMetadata,
  };
}
