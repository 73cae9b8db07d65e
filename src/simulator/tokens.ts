// The simulator's deterministic token count: ceil(chars/4) per non-empty part (at least 1), a flat
// 258 per image/file (what Gemini charges for an image), plus ceil(chars/4) of the tools JSON.
import type { GeminiContent, GeminiPart, GeminiRequest } from "../upstream/types";

export const MEDIA_TOKENS = 258;

export const textTokens = (s: string) => (s.length ? Math.max(1, Math.ceil(s.length / 4)) : 0);

export function partTokens(p: GeminiPart): number {
  if (!p || typeof p !== "object") return 0;
  if (p.inlineData || p.fileData || (p as any).inline_data || (p as any).file_data) return MEDIA_TOKENS;
  let chars = 0;
  if (typeof p.text === "string") chars += p.text.length;
  const call = p.functionCall ?? (p as any).function_call;
  if (call) chars += JSON.stringify(call).length;
  const resp = p.functionResponse ?? (p as any).function_response;
  if (resp) chars += JSON.stringify(resp).length;
  for (const k of ["executableCode", "codeExecutionResult"]) if (p[k]) chars += JSON.stringify(p[k]).length;
  return chars ? Math.max(1, Math.ceil(chars / 4)) : 0;
}

const contentTokens = (c: GeminiContent | undefined) => (Array.isArray(c?.parts) ? c.parts.reduce((n, p) => n + partTokens(p), 0) : 0);

export function countTokens(req: GeminiRequest): number {
  if (!req || typeof req !== "object") return 0;
  let n = 0;
  for (const c of Array.isArray(req.contents) ? req.contents : []) n += contentTokens(c);
  n += contentTokens(req.systemInstruction ?? (req as any).system_instruction);
  const tools = req.tools;
  if (Array.isArray(tools) && tools.length) n += textTokens(JSON.stringify(tools));
  return n;
}
