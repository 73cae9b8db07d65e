// Log lines: secrets masked, and bounded whatever a client sent.
import { expect, test } from "bun:test";
import { createLogger, MAX_FIELD_CHARS } from "../../src/core/log";

const capture = () => {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (l) => lines.push(l)) };
};

test("secret-looking keys are masked", () => {
  const { lines, log } = capture();
  log.info("x", { refreshToken: "1//abc", apiKey: "sk-1", model: "m" });
  expect(JSON.parse(lines[0]!)).toMatchObject({ refreshToken: "[redacted]", apiKey: "[redacted]", model: "m" });
});

test("a 5 MB field becomes a bounded one; nested values bound the line as a whole", () => {
  const { lines, log } = capture();
  log.warn("request", { model: "m".repeat(5_000_000) });
  const line = JSON.parse(lines[0]!);
  expect(line.model.length).toBeLessThan(MAX_FIELD_CHARS + 40);
  expect(line.model).toContain("(5000000 chars)");
  log.warn("nested", { detail: { big: "x".repeat(100_000) } });
  expect(lines[1]!.length).toBeLessThan(20_000);
  expect(lines[1]!.includes("\n")).toBe(false);
});

test("LogGate: a repeated line goes out at most once per period", () => {
  const { LogGate } = require("../../src/core/log") as typeof import("../../src/core/log");
  const gate = new LogGate(60_000);
  const said = [0, 1_000, 59_999, 60_000, 61_000, 130_000].filter((t) => gate.open(t));
  expect(said).toEqual([0, 60_000, 130_000]);
});
