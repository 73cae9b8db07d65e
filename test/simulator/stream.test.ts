import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, sseEvents, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let paced: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  paced = await startSimulator(); // delays on (the default)
  acc = sim.addAccount({ email: "stream@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(async () => {
  await sim.stop();
  await paced.stop();
});

const stream = (s: Simulator, t: string, a: SimAccount, request: Record<string, unknown>, model?: string) =>
  v1(s, t, "streamGenerateContent?alt=sse", envelope(a, request, model));

describe("streamGenerateContent?alt=sse", () => {
  test("SSE framing: data: lines, \\r\\n\\r\\n, deltas, finishReason and usage only in the last chunk, no [DONE]", async () => {
    const request = { contents: [userText("please stream a few words back")] };
    const r = await stream(sim, tok, acc, request);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    expect(r.text).not.toContain("[DONE]");
    expect(r.text).not.toMatch(/(^|[^\r])\n/); // every newline is part of \r\n
    const events = sseEvents(r.text);
    expect(events.length).toBeGreaterThanOrEqual(3);
    const last = events[events.length - 1];
    for (const e of events) {
      expect(e.traceId).toBeTruthy();
      expect(e.response.modelVersion).toBe("gemini-2.5-flash");
      expect(e.response.responseId).toBe(events[0].response.responseId);
      if (e !== last) {
        expect(e.response.usageMetadata).toBeUndefined();
        expect(e.response.candidates[0].finishReason).toBeUndefined();
      }
    }
    expect(last.response.candidates[0].finishReason).toBe("STOP");
    expect(last.response.usageMetadata.promptTokenCount).toBe(sim.countTokens(request as any));
    expect(last.response.usageMetadata.totalTokenCount).toBeGreaterThan(0);

    const streamed = events.map((e) => texts(e.response)).join("");
    const unary = await v1(sim, tok, "generateContent", envelope(acc, request));
    expect(streamed).toBe(texts(unary.json.response));
  });

  test("without ?alt=sse the same chunks come as one JSON array", async () => {
    const r = await v1(sim, tok, "streamGenerateContent", envelope(acc, { contents: [userText("array please")] }));
    expect(r.status).toBe(200);
    expect(Array.isArray(r.json)).toBe(true);
    expect(r.json.map((c: any) => texts(c.response)).join("")).toBe("Echo: array please");
    expect(r.json.at(-1).response.candidates[0].finishReason).toBe("STOP");
  });

  test("even a one-word prompt streams in at least 3 chunks", async () => {
    const events = sseEvents((await stream(sim, tok, acc, { contents: [userText("hi")] })).text);
    expect(events.length).toBeGreaterThanOrEqual(3);
  });

  test("with delays on, chunks still arrive complete and in order", async () => {
    const a = paced.addAccount({ email: "paced@example.com" });
    const t = await accessToken(paced, a);
    const res = await fetch(`${paced.url}/v1internal:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
      body: JSON.stringify(envelope(a, { contents: [userText("one two three four")] })),
    });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += dec.decode(value, { stream: true });
    }
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(
      sseEvents(text)
        .map((e) => texts(e.response))
        .join(""),
    ).toBe("Echo: one two three four");
  });

  test("thoughts stream first, flagged thought: true, the signature on the last thought chunk", async () => {
    const events = sseEvents(
      (
        await stream(sim, tok, acc, {
          contents: [userText("think about it")],
          generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
        })
      ).text,
    );
    const parts = events.flatMap((e) => e.response.candidates[0].content.parts);
    const firstAnswer = parts.findIndex((p: any) => !p.thought);
    const thoughts = parts.slice(0, firstAnswer);
    expect(thoughts.length).toBeGreaterThanOrEqual(2);
    expect(thoughts.every((p: any) => p.thought === true)).toBe(true);
    expect(parts.slice(firstAnswer).some((p: any) => p.thought)).toBe(false);
    const sigs = thoughts.filter((p: any) => p.thoughtSignature);
    expect(sigs).toHaveLength(1);
    expect(thoughts[thoughts.length - 1].thoughtSignature.length).toBeGreaterThanOrEqual(50);
    expect(events[events.length - 1].response.usageMetadata.thoughtsTokenCount).toBeGreaterThan(0);
  });
});
