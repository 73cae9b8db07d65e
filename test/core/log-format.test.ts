// The text log format: one line per event, `time LEVEL msg key=value`, secrets masked as in JSON.
import { expect, test } from "bun:test";
import { createLogger } from "../../src/core/log";

test.each([
  [{ status: 200, path: "/v1/messages" }, / INFO  request status=200 path=\/v1\/messages$/],
  [{ error: 'a "quoted"\nmulti-line message' }, / INFO  request error="a \\"quoted\\"\\nmulti-line message"$/],
  [{ token: "ya29.secret" }, / INFO  request token=\[redacted\]$/],
  [{ nested: { a: 1 } }, / INFO  request nested="{\\"a\\":1}"$/],
])("%j", (fields, line) => {
  const out: string[] = [];
  createLogger("info", (l) => out.push(l), "text").info("request", fields);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z /);
  expect(out[0]).toMatch(line);
  expect(out[0]).not.toContain("ya29.secret");
});
