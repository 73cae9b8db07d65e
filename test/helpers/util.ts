// Small helpers every test area uses: temp dirs, polling, a one-line Gemini request.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Account } from "../../src/accounts/types";
import type { UsageRecord } from "../../src/state/usage";

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export function tempDir(prefix = "tmp"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-test-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** wait until `check` holds (polling), or fail with `what` after `ms` */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** a GenerateContent request with one user text */
export const userText = (text: string) => ({ contents: [{ role: "user", parts: [{ text }] }] });

/** an account record as the store holds it, for tests that write the store directly (id = email by default) */
export function accountRecord(email: string, extra: Partial<Account> = {}): Account {
  return {
    id: email,
    email,
    refreshToken: `1//rt-${email}`,
    state: "active",
    quota: null,
    cooldowns: [],
    requests: 0,
    failures: 0,
    createdAt: Date.now(),
    ...extra,
  };
}

/** one usage record of a served Gemini request at `at` (the fields a test cares about in `over`) */
export function usageRecord(at: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    at,
    keyId: null,
    keyName: "config",
    account: "a@x.com",
    model: "gemini-2.5-flash",
    upstreamModel: "gemini-2.5-flash",
    protocol: "gemini",
    route: "/v1beta/models/gemini-2.5-flash:generateContent",
    status: 200,
    errorClass: null,
    input: 10,
    output: 1,
    thinking: 0,
    cached: 0,
    latencyMs: 1,
    ttfbMs: null,
    streamed: false,
    ...over,
  };
}
