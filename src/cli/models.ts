// `switchyard models [--json]`: what Google serves the pool today (the catalogue the accounts
// reported), Google's recommendations and the forwarding rules in force. Reads the data dir only.
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import { UsageError } from "./args";
import { renderTable } from "./table";

const num = (n: number | undefined) => (n === undefined ? "" : n.toLocaleString("en-US"));

export async function runModels(
  args: string[],
  io: { config: Config; dataDir: string; log: Logger; out?: (s: string) => void },
): Promise<number> {
  const json = args.includes("--json");
  const extra = args.find((a) => a !== "--json");
  if (extra) throw new UsageError(`models: unknown ${extra.startsWith("-") ? "flag" : "argument"} ${extra}`);
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const { openPool } = await import("../pool/index");
  const pool = await openPool({ config: io.config, dataDir: io.dataDir, log: io.log, background: false });
  try {
    const models = pool.catalog.list();
    const lineup = pool.catalog.lineup();
    const reported = pool.reportedModels().length > 0;
    if (json) {
      out(JSON.stringify({ source: reported ? "accounts" : "built-in", models, ...lineup }, null, 2) + "\n");
      return 0;
    }
    const rec = new Set(lineup.recommended);
    const rows = models.map((m) => [
      m.id,
      m.displayName,
      num(m.inputTokenLimit),
      num(m.outputTokenLimit),
      m.image ? "image" : m.thinking ? `thinking ${num(m.thinkingBudget)}`.trim() : "",
      (m.id === lineup.defaultModel ? "default" : rec.has(m.id) ? "recommended" : "") +
        (lineup.imageModels.includes(m.id) ? " images" : ""),
    ]);
    out(renderTable(["MODEL", "NAME", "CONTEXT", "OUTPUT", "KIND", "GOOGLE SAYS"], rows) + "\n");
    const fwd = Object.entries(lineup.forwards);
    if (fwd.length) out(`\nforwarded (retired upstream):\n${fwd.map(([a, b]) => `  ${a} → ${b}`).join("\n")}\n`);
    if (!reported) out("\n(built-in list: no account has reported its models yet — add one with `switchyard accounts add`)\n");
    return 0;
  } finally {
    await pool.close();
  }
}
