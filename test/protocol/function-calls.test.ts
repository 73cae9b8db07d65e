import { describe, expect, test } from "bun:test";
import { FUNCTION_NAME, upstreamToolName } from "../../src/protocol/function-calls";

const LONG = "mcp__my-very-long-server-name-for-testing__" + "a_really_long_tool_name_".repeat(3);

describe("upstreamToolName", () => {
  const table: [string, (n: string) => void][] = [
    ["get_weather", (n) => expect(n).toBe("get_weather")],
    ["mcp__srv__tool", (n) => expect(n).toBe("mcp__srv__tool")],
    [LONG, (n) => expect(n).toMatch(/^mcp__my-very-long.{30,}_[0-9a-f]{8}$/)],
    ["9lives", (n) => expect(n).toMatch(/^_9lives_[0-9a-f]{8}$/)],
    ["has space", (n) => expect(n).toMatch(/^has_space_[0-9a-f]{8}$/)],
  ];
  for (const [name, check] of table)
    test(name.slice(0, 40), () => {
      const n = upstreamToolName(name);
      check(n);
      expect(n).toMatch(FUNCTION_NAME);
      expect(upstreamToolName(name)).toBe(n);
    });
});

describe("aliases are distinct", () => {
  test("names that sanitise alike get different aliases", () => {
    const names = ["a b", "a/b", "a_b", "1st/tool name", "_1st_tool_name"];
    expect(new Set(names.map(upstreamToolName)).size).toBe(names.length);
  });
});
