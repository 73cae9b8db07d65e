import { describe, expect, test } from "bun:test";
import { StreamAssembler, assembleStream } from "../../src/upstream/assemble";
import type { GeminiPart, GeminiResponse } from "../../src/upstream/types";

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** a one-candidate response (a delta chunk, or the assembled answer) */
const one = (parts: GeminiPart[], cand: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): GeminiResponse => ({
  candidates: [{ content: { role: "model", parts }, ...cand }],
  ...extra,
});

const cases: [string, GeminiResponse[], GeminiResponse][] = [
  ["empty input", [], { candidates: [] }],
  [
    "answer text concatenated; last finishReason and usage",
    [
      one([{ text: "Hel" }], {}, { usageMetadata: { promptTokenCount: 3 } }),
      one([{ text: "lo" }], { finishReason: "STOP" }, { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } }),
    ],
    one([{ text: "Hello" }], { finishReason: "STOP" }, { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } }),
  ],
  [
    "interleaved thought and answer runs stay apart; signature kept on its run",
    [
      one([{ text: "think ", thought: true }]),
      one([{ text: "more", thought: true, thoughtSignature: "s1" }]),
      one([{ text: "Answer " }, { text: "one" }]),
      one([{ text: "again", thought: true }]),
      one([{ text: "Two" }, { text: "", thoughtSignature: "s2" }], { finishReason: "STOP" }),
    ],
    one(
      [
        { text: "think more", thought: true, thoughtSignature: "s1" },
        { text: "Answer one" },
        { text: "again", thought: true },
        { text: "Two", thoughtSignature: "s2" },
      ],
      { finishReason: "STOP" },
    ),
  ],
  [
    "several signatures in one run: the last wins",
    [
      one([{ text: "a", thought: true, thoughtSignature: "old" }]),
      one([{ text: "b", thought: true, thoughtSignature: "new" }]),
      one([{ text: "c", thought: true }]),
    ],
    one([{ text: "abc", thought: true, thoughtSignature: "new" }]),
  ],
  [
    "two function calls stay separate, in order, with their signatures",
    [
      one([{ text: "Let me check." }]),
      one([{ functionCall: { name: "a", args: { x: 1 } }, thoughtSignature: "sig-a" }]),
      one([{ functionCall: { name: "b", args: {} } }], { finishReason: "STOP" }),
    ],
    one(
      [
        { text: "Let me check." },
        { functionCall: { name: "a", args: { x: 1 } }, thoughtSignature: "sig-a" },
        { functionCall: { name: "b", args: {} } },
      ],
      { finishReason: "STOP" },
    ),
  ],
  [
    "text around a call does not merge across it; inline data kept in place",
    [one([{ text: "x" }, { inlineData: { mimeType: "image/png", data: "AAA" } }, { text: "y" }]), one([{ text: "z" }])],
    one([{ text: "x" }, { inlineData: { mimeType: "image/png", data: "AAA" } }, { text: "yz" }]),
  ],
  [
    "empty text without a signature is dropped",
    [one([{ text: "a", thought: true }]), one([{ text: "" }]), one([{ text: "b", thought: true }]), one([], { finishReason: "STOP" })],
    one([{ text: "ab", thought: true }], { finishReason: "STOP" }),
  ],
  [
    "multiple candidates by index",
    [
      {
        candidates: [
          { index: 0, content: { role: "model", parts: [{ text: "A1" }] } },
          { index: 1, content: { role: "model", parts: [{ text: "B1" }] } },
        ],
      },
      { candidates: [{ index: 1, content: { role: "model", parts: [{ text: "B2" }] }, finishReason: "MAX_TOKENS" }] },
      { candidates: [{ index: 0, content: { role: "model", parts: [{ text: "A2" }] }, finishReason: "STOP" }] },
    ],
    {
      candidates: [
        { content: { role: "model", parts: [{ text: "A1A2" }] }, finishReason: "STOP", index: 0 },
        { content: { role: "model", parts: [{ text: "B1B2" }] }, finishReason: "MAX_TOKENS", index: 1 },
      ],
    },
  ],
  [
    "safety ratings and citations from the last chunk that has them",
    [
      one([{ text: "a" }], { safetyRatings: [{ category: "X", probability: "LOW" }], citationMetadata: { citations: [{ uri: "u1" }] } }),
      one([{ text: "b" }], { safetyRatings: [{ category: "X", probability: "NEGLIGIBLE" }] }),
      one([{ text: "c" }], { finishReason: "STOP" }),
    ],
    one([{ text: "abc" }], {
      safetyRatings: [{ category: "X", probability: "NEGLIGIBLE" }],
      citationMetadata: { citations: [{ uri: "u1" }] },
      finishReason: "STOP",
    }),
  ],
  [
    "modelVersion / responseId: last non-empty; promptFeedback kept",
    [
      one([{ text: "a" }], {}, { modelVersion: "m1", responseId: "r1", promptFeedback: { safetyRatings: [] } }),
      one([{ text: "b" }], {}, { modelVersion: "m2", responseId: "" }),
      one([{ text: "c" }], {}, { modelVersion: "" }),
    ],
    one([{ text: "abc" }], {}, { modelVersion: "m2", responseId: "r1", promptFeedback: { safetyRatings: [] } }),
  ],
  [
    "a blocked prompt: no candidates, only feedback",
    [{ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 5 } }],
    { candidates: [], promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 5 } },
  ],
  ["a candidate without content", [{ candidates: [{ finishReason: "SAFETY" }] }], { candidates: [{ finishReason: "SAFETY" }] }],
];

describe("assembleStream", () => {
  test.each(cases)("%s", (_, chunks, want) => {
    const input = deepFreeze(structuredClone(chunks));
    expect(assembleStream(input)).toEqual(want);
    expect(input).toEqual(chunks);
  });
});

describe("StreamAssembler", () => {
  test("result() part-way does not disturb later pushes", () => {
    const a = new StreamAssembler();
    a.push(deepFreeze(one([{ text: "a" }])));
    const early = a.result();
    a.push(deepFreeze(one([{ text: "b" }], { finishReason: "STOP" }, { usageMetadata: { totalTokenCount: 9 } })));
    expect(early).toEqual(one([{ text: "a" }]));
    expect(a.result()).toEqual(one([{ text: "ab" }], { finishReason: "STOP" }, { usageMetadata: { totalTokenCount: 9 } }));
  });

  test("returned parts are not the input's objects", () => {
    const part = deepFreeze({ functionCall: { name: "f", args: {} } });
    const out = assembleStream([{ candidates: [{ content: { role: "model", parts: [part] } }] }]);
    expect(out.candidates![0]!.content!.parts[0]).not.toBe(part);
  });
});
