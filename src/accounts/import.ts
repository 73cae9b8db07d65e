// Bulk import of Google refresh tokens from the formats users already have (docs/contract.md §2, `accounts import`):
// our export, an Antigravity-Manager data dir / account files, a JSON array, or any text holding `1//…` tokens.
// Parsing is pure; reading files and validating tokens (through the pool) are the two I/O edges.
import { sha256Hex } from "../core/hash";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { eachLimited } from "./upkeep";

/** Google refresh tokens look like `1//0g…`; the reference's UI extracts them with the same idea. */
export const REFRESH_TOKEN_RE = /1\/\/[0-9A-Za-z_\-]{20,}/g;
const TOKEN_KEYS = new Set(["refresh_token", "refreshToken"]);

export type ImportFormat = "switchyard-export" | "antigravity-manager" | "json" | "text";

export interface ParsedImport {
  format: ImportFormat;
  /** unique, in first-seen order */
  tokens: string[];
}

/** Short, safe label for a token in messages: never the whole secret. */
export function maskToken(token: string): string {
  const t = token.trim();
  return t.length <= 8 ? "…" : `${t.slice(0, 5)}…`;
}

export function dedupe(tokens: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tokens) {
    const t = raw.trim();
    if (t && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

/** Values under `refresh_token` / `refreshToken` keys anywhere in a JSON value (covers every JSON format we accept). */
export function tokensInJson(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) {
      // a bare array of token strings is accepted too
      if (typeof v === "string") out.push(v);
      else tokensInJson(v, out);
    }
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (TOKEN_KEYS.has(k) && typeof v === "string") out.push(v);
      else if (typeof v === "object") tokensInJson(v, out);
    }
  }
  return out;
}

export function tokensInText(text: string): string[] {
  return text.match(REFRESH_TOKEN_RE) ?? [];
}

function jsonFormat(value: unknown): ImportFormat {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.version === "number" && Array.isArray(o.accounts)) return "switchyard-export";
    if (o.token && typeof o.token === "object") return "antigravity-manager";
  }
  return "json";
}

/** One blob of text in any accepted format. JSON that is not valid, or holds no token keys, is scanned as text. */
export function parseImportText(text: string): ParsedImport {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      const tokens = dedupe(tokensInJson(value));
      if (tokens.length > 0) return { format: jsonFormat(value), tokens };
    } catch {
      // not JSON after all: fall through to the text scan
    }
  }
  return { format: "text", tokens: dedupe(tokensInText(text)) };
}

/** Merge several parsed blobs (a directory of files): one format label, tokens deduped across files. */
export function mergeParsed(parts: ParsedImport[]): ParsedImport {
  const formats = new Set(parts.filter((p) => p.tokens.length > 0).map((p) => p.format));
  const format: ImportFormat = formats.size === 1 ? [...formats][0]! : formats.has("antigravity-manager") ? "antigravity-manager" : "json";
  return { format, tokens: dedupe(parts.flatMap((p) => p.tokens)) };
}

export class ImportSourceError extends Error {}

/**
 * Read PATH: a file in any format; a directory holding `accounts/*.json` (Antigravity-Manager data dir);
 * or a directory of `*.json` files.
 */
export async function readImportSource(path: string): Promise<ParsedImport> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ImportSourceError(`cannot read ${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return parseImportText(await readFile(path, "utf8"));

  const accountsDir = join(path, "accounts");
  const dir = (await isDir(accountsDir)) ? accountsDir : path;
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) throw new ImportSourceError(`no *.json files in ${dir}`);
  const parts: ParsedImport[] = [];
  for (const f of files) parts.push(parseImportText(await readFile(join(dir, f), "utf8")));
  return mergeParsed(parts);
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

// ---- validation through the pool ----

/** The part of the pool an import needs (the real Pool satisfies it). */
export interface TokenAdder {
  addByRefreshToken(refreshToken: string): Promise<{ account: { email: string }; created: boolean }>;
}

export interface ImportResult {
  /** 1-based position among the unique tokens */
  index: number;
  /** masked: the first characters and a short fingerprint (SHA-256), so 300 entries can be told apart */
  token: string;
  status: "added" | "updated" | "rejected";
  email?: string;
  reason?: string;
}

export interface ImportSummary {
  format?: ImportFormat;
  total: number;
  added: number;
  updated: number;
  rejected: number;
  results: ImportResult[];
}

export type ImportProgress = (done: number, total: number, result: ImportResult) => void;

/** tokens validated with Google at once: fast for hundreds, gentle on Google and on the store lock */
const IMPORT_CONCURRENCY = 4;

/** the masked token and a short fingerprint: enough to find the entry, nothing to use */
export function tokenLabel(token: string): string {
  return `${maskToken(token)}${sha256Hex(token.trim()).slice(0, 8)}`;
}

/** Validate and store each token, a few at a time; results keep the tokens' order. */
export async function importTokens(pool: TokenAdder, tokens: string[], onProgress?: ImportProgress): Promise<ImportSummary> {
  const unique = dedupe(tokens);
  const summary: ImportSummary = { total: unique.length, added: 0, updated: 0, rejected: 0, results: [] };
  const results: ImportResult[] = new Array(unique.length);
  let done = 0;
  await eachLimited(
    unique.map((token, i) => ({ token, i })),
    IMPORT_CONCURRENCY,
    async ({ token, i }) => {
      let result: ImportResult;
      const label = { index: i + 1, token: tokenLabel(token) };
      try {
        const { account, created } = await pool.addByRefreshToken(token);
        result = { ...label, status: created ? "added" : "updated", email: account.email };
      } catch (e) {
        result = { ...label, status: "rejected", reason: safeReason(e, token) };
      }
      results[i] = result;
      summary[result.status]++;
      onProgress?.(++done, unique.length, result);
    },
  );
  summary.results = results;
  return summary;
}

/** An error message with the token itself scrubbed out, in case anything echoed it. */
export function safeReason(e: unknown, token: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (token ? msg.split(token).join(maskToken(token)) : msg) || "unknown error";
}
