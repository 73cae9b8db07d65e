// The per-account series of /metrics (src/server/app.ts registerPoolMetrics), read from the pool's own
// account state at each scrape: quota per model, cooldowns with the seconds left — ended ones left out.
import { expect, test } from "bun:test";
import { registerPoolMetrics } from "../../src/server/app";
import { createMetrics } from "../../src/core/metrics";
import type { AppContext } from "../../src/protocol/context";

test("quota per account and model, the seconds left of each cooldown still running, accounts by state", async () => {
  const now = Date.now();
  const states = [
    {
      email: "a@x.com",
      state: "active",
      quota: { "gemini-2.5-flash": { remainingFraction: 0.25 }, "gemini-3-pro": { remainingFraction: 1 } },
      cooldowns: [
        { model: "gemini-3-pro", until: now + 30_000, reason: "rate_limited" },
        { model: "gemini-2.5-flash", until: now - 1_000, reason: "rate_limited" },
      ],
    },
    { email: 'b"q@x.com', state: "disabled", quota: null, cooldowns: [] },
  ];
  const metrics = createMetrics();
  const pool = { counts: () => ({ total: 2, available: 1 }), accountStates: () => states, close: async () => {} };
  registerPoolMetrics({ pool, metrics } as unknown as AppContext);
  const text = await metrics.registry.metrics();
  expect(text).toContain('switchyard_account_quota_remaining_ratio{account="a@x.com",model="gemini-2.5-flash"} 0.25');
  expect(text).toContain('switchyard_account_quota_remaining_ratio{account="a@x.com",model="gemini-3-pro"} 1');
  const cooling = text.split("\n").filter((l) => l.startsWith("switchyard_account_cooldown_seconds{"));
  expect(cooling).toHaveLength(1);
  expect(cooling[0]).toStartWith('switchyard_account_cooldown_seconds{account="a@x.com",model="gemini-3-pro",reason="rate_limited"} ');
  const left = Number(cooling[0]!.split(" ")[1]);
  expect(left).toBeGreaterThan(25);
  expect(left).toBeLessThanOrEqual(30);
  expect(text).toContain('switchyard_accounts{state="active"} 1');
  expect(text).toContain('switchyard_accounts{state="disabled"} 1');
  expect(text).toContain('switchyard_pool_accounts{kind="available"} 1');
  // the next scrape reads the state anew: a series whose account went is gone
  states.pop();
  states[0]!.quota = { "gemini-2.5-flash": { remainingFraction: 0.5 } } as never;
  const again = await metrics.registry.metrics();
  expect(again).toContain('switchyard_account_quota_remaining_ratio{account="a@x.com",model="gemini-2.5-flash"} 0.5');
  expect(again).not.toContain('model="gemini-3-pro"} 1');
  expect(again).not.toContain('state="disabled"} 1');
});
