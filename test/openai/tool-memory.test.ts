import { expect, test } from "bun:test";
import { ToolCallMemory } from "../../src/openai/tool-memory";

test("bounded by entry count: the oldest goes first", () => {
  const m = new ToolCallMemory(3);
  for (const id of ["a", "b", "c", "d"]) m.remember(id, { signature: id });
  expect(m.size).toBe(3);
  expect(m.recall("a")).toBeUndefined();
  expect(m.recall("d")?.signature).toBe("d");
});

test("bounded by characters held", () => {
  const m = new ToolCallMemory(100, 2000);
  for (let i = 0; i < 10; i++) m.remember(`c${i}`, { signature: "x".repeat(200) });
  expect(m.size).toBeLessThan(10);
  expect(m.recall("c0")).toBeUndefined();
  expect(m.recall("c9")?.signature).toHaveLength(200);
});

test("one huge entry is not kept (it would flush everything else)", () => {
  const m = new ToolCallMemory(100, 1000);
  m.remember("small", { signature: "s" });
  m.remember("huge", { thoughts: [{ text: "x".repeat(5000), thought: true }] });
  expect(m.recall("huge")).toBeUndefined();
  expect(m.recall("small")?.signature).toBe("s");
});

test("later facts about a call merge with earlier ones", () => {
  const m = new ToolCallMemory();
  m.remember("c", { signature: "sig" });
  m.remember("c", { thoughts: [{ text: "t", thought: true }] });
  expect(m.recall("c")).toEqual({ signature: "sig", thoughts: [{ text: "t", thought: true }] });
  expect(m.recall(undefined)).toBeUndefined();
});
