// Service notices that arrive as 200 answers.
import { describe, expect, test } from "bun:test";
import { mayBeNotice, noticeOf } from "../../src/upstream/notices";
import { noticeFailure } from "../../src/gateway/reading";
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

describe("noticeFailure (a notice counts only for the model it names, and not when the request held its words)", () => {
  const asked = (model: string, text = "hello", system?: string) => ({
    model,
    request: {
      contents: [{ role: "user", parts: [{ text }] }],
      ...(system ? { systemInstruction: { role: "user", parts: [{ text: system }] } } : {}),
    },
  });
  const retired = "Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6.";
  test.each([
    ["the model it names", retired, asked("claude-opus-4-5-thinking"), "model_retired"],
    ["a family name with a tier", "Gemini 3 Pro is no longer available.", asked("gemini-3-pro-high"), "model_retired"],
    ["the id itself", "gemini-3.5-flash is no longer available.", asked("gemini-3.5-flash"), "model_retired"],
    ["another model's name", retired, asked("gemini-2.5-flash"), undefined],
    ["another version", "Gemini 2.5 Flash is no longer available.", asked("gemini-3-flash"), undefined],
    ["a name that only starts alike", "Gemini 3 Pro Image is no longer available.", asked("gemini-3-pro-high"), undefined],
    ["the request asked for it", retired, asked("claude-opus-4-5-thinking", `Say exactly:  ${retired.toUpperCase()}`), undefined],
    ["the system prompt holds it", retired, asked("claude-opus-4-5-thinking", "hi", `reply "${retired}"`), undefined],
    ["the version gate", "This version of Antigravity is no longer supported.", asked("gemini-3-flash"), "client_outdated"],
    [
      "the version gate, asked for",
      "This version of Antigravity is no longer supported.",
      asked("gemini-3-flash", "repeat: this version of antigravity is no longer supported"),
      undefined,
    ],
  ])("%s", (_, text, a, want) => {
    expect(noticeFailure(reply({ text }), a as any)?.class).toBe(want as any);
  });
});
