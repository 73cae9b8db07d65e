// The printed report: one table per scenario, from the same object that is written as JSON.
/** the label column left-aligned, numbers right-aligned */
const row = (cells: (string | number)[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join("  ");
const W = [34, 9, 8, 8, 8, 9, 7, 10];
const goal = (ok: boolean) => (ok ? "ok" : "MISSED");

const UNARY_ROWS: [string, string][] = [
  ["direct", "direct to simulator"],
  ["bare", "bare Bun proxy"],
  ["through", "through gateway"],
  ["limited", "through gateway, limited key"],
];

function unary(r: any): string[] {
  const lines = [row(["unary generateContent", "req/s", "mean ms", "p50 ms", "p99 ms", "requests", "failed", "cpu µs/req"], W)];
  for (const c of ["c1", "c32"])
    for (const [key, label] of UNARY_ROWS) {
      const x = r.unary[c][key];
      if (x)
        lines.push(
          row(
            [`${label}, ${c.replace("c", "conc ")}`, x.reqPerSec, x.meanMs, x.p50Ms, x.p99Ms, x.requests, x.failures, x.cpuUsPerReq ?? "-"],
            W,
          ),
        );
    }
  lines.push("  (cpu: user+system time of the process answering the client — the simulator for direct — per request)");
  const c32 = r.unary.c32;
  if (c32?.limited && c32?.through) {
    const diff = Math.round((1 - c32.limited.reqPerSec / c32.through.reqPerSec) * 1000) / 10;
    lines.push(
      `  limited key (every limit checked, none reached) vs config key at conc 32: ${diff} % fewer req/s; goal ≤ 5 % (${goal(diff <= 5)})`,
    );
  }
  return lines;
}

function memory(r: any): string[] {
  const w = W.slice(0, 5);
  const m = r.rssMiB;
  const b = r.bareRssMiB ?? {};
  const lines = [
    row(["RSS (MiB)", "idle", "peak load", "after", "high-water"], w),
    row(["gateway", m.idle, m.peakUnderLoad, m.afterLoad, m.highWater ?? "-"], w),
    row(["  of which anonymous (heap, buffers)", r.anonMiB?.idle ?? "-", "-", r.anonMiB?.afterLoad ?? "-", "-"], w),
    row(["bare Bun proxy", b.idle ?? "-", b.peakUnderLoad ?? "-", b.afterLoad ?? "-", b.highWater ?? "-"], w),
    `  (idle: quiet 3 s after start-up; peak load: sampled every 200 ms; after: ${m.afterSeconds ?? "?"} s after the last request;`,
    "   high-water: the kernel's VmHWM since exec)",
  ];
  if (m.afterSeconds >= 30)
    lines.push(
      `  goals: idle ≤ 40 (${goal(m.idle <= 40)}), peak at conc 32 ≤ 80 (${goal(m.peakUnderLoad <= 80)}), ` +
        `after within 10 of idle (${goal(m.afterLoad - m.idle <= 10)})`,
    );
  return lines;
}

/** the issue-17 goals, read off the unary cells */
function overheadGoals(r: any): string[] {
  const c1 = r.unary?.c1;
  const c32 = r.unary?.c32;
  if (!c1?.through || !c1?.direct || !c32?.through || !c32?.bare) return [];
  const ratio = Math.round((c32.through.reqPerSec / c32.bare.reqPerSec) * 100) / 100;
  const p50 = Math.round((c1.through.p50Ms - c1.direct.p50Ms) * 100) / 100;
  const p99 = Math.round((c1.through.p99Ms - c1.direct.p99Ms) * 100) / 100;
  return [
    `  gateway / bare req/s at conc 32: ${ratio}; goal ≥ 0.8 (${goal(ratio >= 0.8)})`,
    `  added over direct at conc 1: p50 ${p50} ms, goal ≤ 0.15 (${goal(p50 <= 0.15)}); p99 ${p99} ms, goal ≤ 1 (${goal(p99 <= 1)})`,
  ];
}

function accounts(a: any): string[] {
  const w = [34, 9, 9, 9, 9, 10, 7];
  const lines = [row(["accounts in the data dir", "c1 p50", "c1 p99", "c32 p50", "c32 p99", "c32 req/s", "failed"], w)];
  for (const k of ["few", "many"]) {
    const x = a[k];
    lines.push(
      row(
        [
          `${x.accounts.toLocaleString("en")} accounts`,
          x.c1.p50Ms,
          x.c1.p99Ms,
          x.c32.p50Ms,
          x.c32.p99Ms,
          x.c32.reqPerSec,
          x.c1.failures + x.c32.failures,
        ],
        w,
      ),
    );
  }
  const { c1, c32 } = a.ratio;
  lines.push(row([`ratio ${a.many.accounts.toLocaleString("en")} / ${a.few.accounts}`, c1.p50, c1.p99, c32.p50, c32.p99], w.slice(0, 5)));
  const ok50 = c1.p50 <= 1.2 && c32.p50 <= 1.2;
  const ok99 = c1.p99 <= 2 && c32.p99 <= 2;
  lines.push(`  goal: p50 ratio ≤ 1.2 (${goal(ok50)}), p99 ratio ≤ 2 (${goal(ok99)})`);
  return lines;
}

function startup(rows: any[]): string[] {
  const w = [34, 12, 14, 9];
  const lines = [row(["start-up (from exec)", "→ healthz ms", "→ 1st answer ms", "RSS MiB"], w)];
  for (const s of rows) lines.push(row([s.label, s.healthzMs, s.firstAnswerMs, s.rssMiB], w));
  const many = rows.filter((s) => s.accounts === Math.max(...rows.map((x) => x.accounts)));
  const ok = many.every((s) => s.healthzMs <= 100 && s.firstAnswerMs <= 100);
  lines.push(
    `  (→ 1st answer: from the first healthz 200 to the first proxied 200)  goal: each ≤ 100 ms with the most accounts (${goal(ok)})`,
  );
  return lines;
}

/** connections a full accept queue dropped (each retried a second later), when the machine says */
const dropped = (run: { dropped?: number }) =>
  run.dropped === undefined ? "" : `; ${run.dropped} connections dropped by a full accept queue`;

function streams(s: any): string[] {
  const a = s.all;
  const errs = Object.entries(a.errors as Record<string, number>)
    .map(([k, v]) => `${v}× ${k}`)
    .join(", ");
  return [
    `${s.streams} streams at once, ${s.chunks} chunks ${s.gapMs / 1000} s apart, through the gateway`,
    row(["one stream alone (s)", (s.oneStreamMs / 1000).toFixed(2)], [34, 9]),
    row([`${s.streams} at once: wall (s)`, (a.wallMs / 1000).toFixed(2)], [34, 9]),
    row(["  per stream p50 / max (s)", `${(a.p50Ms / 1000).toFixed(2)} / ${(a.maxMs / 1000).toFixed(2)}`], [34, 13]),
    row(["  wall ÷ one stream", s.ratio], [34, 9]) + `   goal ≤ 1.3 (${goal(s.ratio <= 1.3)})`,
    row(["  succeeded", `${a.ok}/${a.n}`], [34, 9]) + (errs ? `   failed: ${errs}` : "") + dropped(a),
    ...(s.direct
      ? [
          row([`  same, no gateway: wall (s)`, (s.direct.wallMs / 1000).toFixed(2)], [34, 9]) +
            `   ÷ one stream ${s.direct.ratio}, ${s.direct.ok}/${s.direct.n} ok (the harness alone: client → pacing upstream)` +
            dropped(s.direct),
        ]
      : []),
    row(["  gateway peak RSS (MiB)", s.gatewayPeakRssMiB], [34, 9]) + `   goal ≤ 200 (${goal(s.gatewayPeakRssMiB <= 200)})`,
  ];
}

/** embedded state against Redis, one and two instances (32 connections in all) */
function shared(s: { rows: { label: string; reqPerSec: number; p50Ms: number; p99Ms: number; failures: number }[] }): string[] {
  const base = s.rows[0]?.p50Ms ?? 0;
  return [
    row(["shared state (32 conns in all)", "req/s", "p50 ms", "p99 ms", "+p50 ms", "failures"], W.slice(0, 6)),
    ...s.rows.map((x) => row([x.label, x.reqPerSec, x.p50Ms, x.p99Ms, (x.p50Ms - base).toFixed(2), x.failures], W.slice(0, 6))),
  ];
}

export function table(r: any): string {
  const lines = [
    `Switchyard benchmark — ${r.gateway}, ${r.machine.cpus} CPU(s), bun ${r.machine.bun}, ${r.settings.durationSeconds} s per cell, loopback`,
    "",
    ...unary(r),
    ...overheadGoals(r),
    "",
    row(["SSE time to first byte", "median ms", "p90 ms", "n"], W.slice(0, 4)),
  ];
  for (const t of ["direct", "through"])
    lines.push(
      row(
        [t === "direct" ? "direct to simulator" : "through gateway", r.sseTtfb[t].medianMs, r.sseTtfb[t].p90Ms, r.sseTtfb[t].n],
        W.slice(0, 4),
      ),
    );
  lines.push("", ...memory(r));
  const failed = (name: string, x: any) => (x?.error ? [`${name}: failed — ${x.error}`] : null);
  if (r.accountScale)
    lines.push(
      "",
      ...(failed("3 vs many accounts", r.accountScale) ?? [...accounts(r.accountScale), "", ...startup(r.accountScale.startup)]),
    );
  if (r.slowStreams) lines.push("", ...(failed("slow streams", r.slowStreams) ?? streams(r.slowStreams)));
  if (r.sharedState) lines.push("", ...(failed("shared state", r.sharedState) ?? shared(r.sharedState)));
  lines.push("", row(["scheduler pick (ns)", "sticky", "round-rob", "quota-1st"], W.slice(0, 4)));
  for (const n of [10, 1000, 10000]) {
    const ns = (mode: string) => r.scheduler.find((s: any) => s.accounts === n && s.mode === mode)?.nsPerPick ?? "-";
    lines.push(row([`${n} accounts`, ns("sticky"), ns("round-robin"), ns("quota-first")], W.slice(0, 4)));
  }
  return lines.join("\n");
}
