// `switchyard usage …`: the usage log in state.db, grouped by key, account, model, day or hour — a table
// with a total row for people, the rows as JSON for scripts.
import type { UsageBy, UsageRow } from "../state/usage";
import { KeyError } from "../keys/book";
import { parseSince } from "../keys/limits-input";
import { UsageError } from "./args";
import { isHelp, parseFlags, withKeys, type Io } from "./keys";
import { renderTable } from "./table";

export const USAGE_HELP = `usage:
  switchyard usage [--since DURATION|DATE] [--by key|account|model|day|hour] [--json]

Requests, errors and input / output / thinking / cached tokens (as upstream reported them) from the
usage log in state.db. --since is a duration back from now (30m, 24h, 7d; default 24h) or a date
(2026-11-01); --by groups the rows (default key; day and hour are UTC).
See also: switchyard keys --help
`;

const BY: UsageBy[] = ["key", "account", "model", "day", "hour"];
type Totals = Omit<UsageRow, "group">;

export async function runUsage(args: string[], io: Io): Promise<number> {
  if (isHelp(args)) {
    (io.out ?? ((s) => process.stdout.write(s)))(USAGE_HELP);
    return 0;
  }
  const { values, flags, positional } = parseFlags("usage", args, ["--since", "--by"], ["--json"]);
  if (positional.length) throw new UsageError(`usage: unknown argument ${positional[0]}`);
  const by = (values["--by"] ?? "key") as UsageBy;
  if (!BY.includes(by)) throw new UsageError(`usage: --by must be one of ${BY.join(", ")}, got ${JSON.stringify(values["--by"])}`);
  return withKeys(io, false, async (keys, out, now) => {
    let since: number;
    try {
      since = parseSince(values["--since"] ?? "24h", now);
    } catch (e) {
      if (e instanceof KeyError) throw new UsageError(`usage: --${e.message}`);
      throw e;
    }
    const rows = await keys.report(since, by);
    if (flags.has("--json")) {
      out(JSON.stringify(rows, null, 2) + "\n");
      return 0;
    }
    const zero: Totals = { requests: 0, errors: 0, input: 0, output: 0, thinking: 0, cached: 0 };
    const total = rows.reduce<Totals>(
      (t, r) => ({
        requests: t.requests + r.requests,
        errors: t.errors + r.errors,
        input: t.input + r.input,
        output: t.output + r.output,
        thinking: t.thinking + r.thinking,
        cached: t.cached + r.cached,
      }),
      zero,
    );
    const line = (g: string, r: Totals) => [
      g,
      ...[r.requests, r.errors, r.input, r.output, r.thinking, r.cached].map((v) => v.toLocaleString("en-US")),
    ];
    out(`usage since ${new Date(since).toISOString()} by ${by}\n`);
    out(
      renderTable(
        [by.toUpperCase(), "REQUESTS", "ERRORS", "INPUT", "OUTPUT", "THINKING", "CACHED"],
        [...rows.map((r) => line(r.group, r)), line("total", total)],
      ) + "\n",
    );
    return 0;
  });
}
