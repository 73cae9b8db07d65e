// observeStream: reports how a streamingResponse body ended; the body goes out as it is, chunk by chunk.
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../src/core/errors";
import { observeStream, streamingResponse, type StreamOutcome } from "../../src/protocol/stream";

const dec = new TextDecoder();

function watched(frames: AsyncIterable<string>) {
  const ended: { outcome: StreamOutcome; failure?: ApiError }[] = [];
  const res = streamingResponse({ frames, onError: (e) => `error:${e.status}` });
  expect(observeStream(res, (outcome, failure) => ended.push({ outcome, failure }))).toBe(true);
  return { reader: res.body!.getReader(), ended };
}

async function readText(reader: ReadableStreamDefaultReader<Uint8Array>) {
  let s = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) s += dec.decode(r.value);
  return s;
}

describe("observeStream", () => {
  test("other bodies are not watched", () => {
    expect(observeStream(new Response("x"), () => {})).toBe(false);
    expect(observeStream(new Response(null), () => {})).toBe(false);
    // the marker header alone is not enough: the body must be one streamingResponse made
    expect(observeStream(new Response("x", { headers: { "x-accel-buffering": "no" } }), () => {})).toBe(false);
  });

  test("each chunk is passed on as it comes (nothing waits for more), then `completed`", async () => {
    const gate = Promise.withResolvers<void>();
    const { reader, ended } = watched(
      (async function* () {
        yield "a";
        await gate.promise;
        yield "b";
      })(),
    );
    expect(dec.decode((await reader.read()).value)).toBe("a"); // while "b" is still held back
    expect(ended).toEqual([]);
    gate.resolve();
    expect(await readText(reader)).toBe("b");
    expect(ended).toEqual([{ outcome: "completed", failure: undefined }]);
  });

  test("a failure after the first byte: the error frame goes out, then `failed` with the error", async () => {
    const { reader, ended } = watched(
      (async function* () {
        yield "a";
        throw new ApiError(503, "upstream went away");
      })(),
    );
    expect(await readText(reader)).toBe("aerror:503");
    expect(ended).toHaveLength(1);
    expect(ended[0]!.outcome).toBe("failed");
    expect(ended[0]!.failure?.message).toBe("upstream went away");
  });

  test("a body that ended before it was watched is reported at once", async () => {
    const res = streamingResponse({
      frames: (async function* () {
        yield "a";
      })(),
      onError: (e) => `error:${e.status}`,
    });
    const body = res.body!;
    expect(await new Response(body).text()).toBe("a");
    const ended: StreamOutcome[] = [];
    expect(observeStream(res, (outcome) => ended.push(outcome))).toBe(true);
    expect(ended).toEqual(["completed"]);
  });

  test("cancelling it cancels the source (the frames' iterator is closed), then `cancelled`", async () => {
    let returned = false;
    let calls = 0;
    const frames: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        // "a", then upstream goes quiet for good: only a cancel can end this
        next: () => (calls++ === 0 ? Promise.resolve({ value: "a", done: false }) : new Promise<IteratorResult<string>>(() => {})),
        return: async () => ((returned = true), { value: undefined, done: true }),
      }),
    };
    const { reader, ended } = watched(frames);
    await reader.read();
    await reader.cancel();
    expect(ended).toEqual([{ outcome: "cancelled", failure: undefined }]);
    expect(returned).toBe(true);
  });
});
