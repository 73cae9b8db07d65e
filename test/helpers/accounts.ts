// Shared by the accounts tests: run `runAccounts` in-process against a temp data dir, and a stdin
// the test can type into.
import { runAccounts } from "../../src/cli/accounts";
import type { Config } from "../../src/config/schema";
import { deepMerge, validateConfig } from "../../src/config/load";
import { silentLogger } from "../../src/core/log";
import { simConfig } from "./stack";

/** a config whose Google URLs point at the simulator */
export function configFor(simUrl: string, extra: Record<string, unknown> = {}): Config {
  return validateConfig(deepMerge({ log: { level: "silent" }, ...simConfig(simUrl) }, extra), "accounts test");
}

/** An async line source that yields what the test `type`s, and ends on `end()`. */
export function typedInput() {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<string> = {
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return {
    iterable,
    type(s: string) {
      queue.push(s);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function cli(
  argv: string[],
  opts: {
    config: Config;
    dataDir: string;
    stdin?: AsyncIterable<string>;
    onErr?: (s: string) => void;
    openBrowser?: (url: string) => void;
  },
): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await runAccounts(argv, {
    config: opts.config,
    dataDir: opts.dataDir,
    log: silentLogger(),
    stdout: (s) => (out += s),
    stderr: (s) => {
      err += s;
      opts.onErr?.(s);
    },
    stdin: opts.stdin ?? typedInputEnded(),
    // never a real browser from a test
    openBrowser: opts.openBrowser ?? (() => {}),
  });
  return { code, out, err };
}

function typedInputEnded(): AsyncIterable<string> {
  const t = typedInput();
  t.end();
  return t.iterable;
}

/** Resolves with the first line of stderr text matching `re` (the login URL). */
export function waitFor(re: RegExp) {
  let buf = "";
  let resolve!: (m: RegExpMatchArray) => void;
  const found = new Promise<RegExpMatchArray>((r) => (resolve = r));
  return {
    found,
    feed(s: string) {
      buf += s;
      const m = buf.match(re);
      if (m) resolve(m);
    },
  };
}
