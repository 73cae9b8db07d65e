// Service notices that arrive as 200 answers.
import { describe, expect, test } from "bun:test";
import { mayBeNotice, noticeOf } from "../../src/upstream/notices";
import type { GeminiPart } from "../../src/upstream/types";

const reply = (...parts: GeminiPart[]) => ({ candidates: [{ content: { role: "model", parts }, finishReason: "STOP" }] });

describe("noticeOf", () => {
  test.each([
    ["This version of Antigravity is no longer supported. Please update to receive the latest features!", { kind: "client_outdated" }],
    [
      "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download to download and install the latest version.",
      { kind: "client_outdated" },
    ],
    ["Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6.", { kind: "model_retired", successor: "Claude Opus 4.6" }],
    ["Gemini 3 Pro is no longer available. Please switch to Gemini 3.1 Pro.", { kind: "model_retired", successor: "Gemini 3.1 Pro" }],
    ["gemini-3.5-flash is no longer available.", { kind: "model_retired" }],
  ])("%s", (text, want) => {
    const n = noticeOf(reply({ text }));
    expect(n).toMatchObject(want);
    expect(n!.text).toBe(text);
  });

  test("a notice split over several text parts is still a notice", () => {
    expect(
      noticeOf(reply({ text: "Claude Opus 4.5 is no longer " }, { text: "available. Please switch to Claude Opus 4.6." })),
    ).toMatchObject({ successor: "Claude Opus 4.6" });
  });

  test.each([
    [
      "an answer that mentions the phrase",
      reply({ text: "The old API is no longer available, so I used the new one. Here is the code: ..." }),
    ],
    ["text with a function call", reply({ text: "Claude Opus 4.5 is no longer available." }, { functionCall: { name: "f", args: {} } })],
    ["a thought before the text", reply({ text: "thinking", thought: true }, { text: "Claude Opus 4.5 is no longer available." })],
    ["an ordinary answer", reply({ text: "Echo: hello" })],
    ["no candidates", { candidates: [] }],
  ])("not a notice: %s", (_, r) => expect(noticeOf(r as any)).toBeUndefined());
});

describe("mayBeNotice (held back while a stream may be a notice)", () => {
  test.each([
    ["", true],
    ["This version of Anti", true],
    ["This version of Antigravity is no longer supported.", true],
    ["Your current version", true],
    ["Claude Opus 4.5 is no longer available.", true],
    ["Echo: hello", false],
    ["Hello! How can I help?", false],
    ["x".repeat(500), false],
  ])("%p → %p", (t, want) => expect(mayBeNotice(t)).toBe(want));
});
