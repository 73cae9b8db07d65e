// A whole answer for a model Google must be asked through the stream call (Gemini 3, Claude): the
// gateway reads the stream to its end as one text, assembles it, and can still rotate on anything
// wrong inside it, since nothing reached the client yet. Through @google/genai, as a user calls it.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { GoogleGenAI } from "@google/genai";
import { post } from "../helpers/gemini";
import { startStack, type Stack } from "../helpers/stack";
import { userText } from "../helpers/util";

const MODEL = "gemini-3-flash";
let stack: Stack;
let ai: GoogleGenAI;

beforeAll(async () => {
  stack = await startStack({ accounts: 2 });
  ai = new GoogleGenAI({ apiKey: stack.apiKey, httpOptions: { baseUrl: stack.url } });
});
afterAll(() => stack?.stop());
beforeEach(() => {
  stack.sim.clearFaults();
  stack.sim.clearRequests();
});

const streamCalls = () => stack.sim.requests({ method: "streamGenerateContent" }).filter((r) => r.body?.model === MODEL);

describe("a unary answer through the stream call", () => {
  test("is one streamGenerateContent call, assembled into one answer with its usage", async () => {
    const r = await ai.models.generateContent({ model: MODEL, contents: "assemble me" });
    expect(r.text).toBe("Echo: assemble me");
    expect(r.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
    expect(streamCalls().map((c) => c.status)).toEqual([200]);
    expect(stack.sim.requests({ method: "generateContent" })).toEqual([]);
  });

  test.each(["stream_cut", "stream_end", "error_in_200", "html_200", "internal_500"] as const)(
    "%s on the first account: rotated, and the client gets the other account's whole answer",
    async (kind) => {
      stack.sim.addFault({ kind, model: MODEL, method: "streamGenerateContent", times: 1 });
      const r = await ai.models.generateContent({ model: MODEL, contents: "rotate me" });
      expect(r.text).toBe("Echo: rotate me");
      const calls = streamCalls();
      expect(calls.length).toBe(2);
      expect(calls[0]!.email).not.toBe(calls[1]!.email);
    },
  );

  test.each(["stream_cut", "stream_end"] as const)(
    "%s on every account: a 5xx in Gemini's error shape, never a partial answer",
    async (kind) => {
      stack.sim.addFault({ kind, model: MODEL, method: "streamGenerateContent" });
      const res = await post(stack, `/v1beta/models/${MODEL}:generateContent`, userText("cut everywhere"));
      expect(res.status).toBeGreaterThanOrEqual(500);
      const body = await res.json();
      expect(body.candidates).toBeUndefined();
      expect(body.error.status).toBeString();
      expect(streamCalls().length).toBe(2);
    },
  );
});
