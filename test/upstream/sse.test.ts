// The SSE parser over byte streams split at awkward places.
import { describe, expect, test } from "bun:test";
import { sseEvents, sseJson, StreamIdleTimeout, unwrapResponse } from "../../src/upstream/sse";

const enc = new TextEncoder();

/** a body that delivers `pieces` one read at a time; records whether it was cancelled */
function body(pieces: string[], opts: { hang?: boolean } = {}) {
  const state = { cancelled: false };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
      else if (!opts.hang) c.close();
      else return new Promise(() => {}); // never answers
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

async function all(pieces: string[]) {
  const out: unknown[] = [];
  for await (const e of sseEvents(body(pieces).stream)) out.push(e);
  return out;
}

/** every way to cut `text` in two */
function splits(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

// one table, both readers: the stream (sseEvents) and a whole body read as one text (sseJson)
describe.each([
  [
    "sseEvents",
    async (text: string, bad: (d: string) => void) => {
      const out: unknown[] = [];
      for await (const e of sseEvents(body([text]).stream, { onMalformed: bad })) out.push(e);
      return out;
    },
  ],
  ["sseJson", async (text: string, bad: (d: string) => void) => sseJson(text, bad)],
] as const)("%s reads whole bodies alike", (_name, read) => {
  test.each([
    ["\\r\\n\\r\\n framing", 'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n', [{ a: 1 }, { b: 2 }], []],
    ["data: without a space, multi-line data", 'data:{"a":1}\n\ndata: {"b":\ndata: 2}\n\n', [{ a: 1 }, { b: 2 }], []],
    [
      "comments, event/id lines, junk; [DONE] ends",
      ': ka\n\nevent: m\nid: 1\ndata: {"a":1}\n\ndata: {x\n\ndata: [DONE]\n\ndata: {"z":1}\n\n',
      [{ a: 1 }],
      ["{x"],
    ],
    ["a last event without a blank line", 'data: {"a":1}', [{ a: 1 }], []],
    ["\\r line ends alone, and mixed with \\r\\n and \\n", 'data: {"a":1}\r\rdata: {"b":\r\ndata: 2}\n\r\n', [{ a: 1 }, { b: 2 }], []],
    ["one space after the colon is not data, a second one is", 'data:  {"a":1}\r\n\r\ndata:\r\n\r\n', [{ a: 1 }], []],
    ["blank data and an empty body", "data: \n\n", [], []],
    ["not SSE at all (an HTML page)", "<html><body>sign in</body></html>", [], []],
  ])("%s", async (_what, text, want, wantBad) => {
    const bad: string[] = [];
    expect(await read(text, (d) => bad.push(d))).toEqual(want as unknown[]);
    expect(bad).toEqual(wantBad as string[]);
  });
});

describe("sseEvents", () => {
  test("\\r\\n\\r\\n framing, cut at every byte", async () => {
    const text = 'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n';
    for (const parts of splits(text)) expect(await all(parts)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  test("stopping the loop cancels the body", async () => {
    const b = body(['data: {"a":1}\n\n', 'data: {"b":2}\n\n'], { hang: true });
    for await (const _ of sseEvents(b.stream)) break;
    expect(b.state.cancelled).toBe(true);
  });

  test("the signal aborting cancels the body and throws", async () => {
    const b = body(['data: {"a":1}\n\n'], { hang: true });
    const ac = new AbortController();
    const it = sseEvents(b.stream, { signal: ac.signal });
    expect((await it.next()).value).toEqual({ a: 1 });
    const pending = it.next();
    ac.abort();
    await expect(pending).rejects.toBeDefined();
    expect(b.state.cancelled).toBe(true);
  });

  test("a gap longer than the idle timeout fails with a TimeoutError", async () => {
    const b = body(['data: {"a":1}\n\n'], { hang: true });
    const it = sseEvents(b.stream, { idleTimeoutMs: 30 });
    await it.next();
    const err = await it.next().catch((e) => e);
    expect(err).toBeInstanceOf(StreamIdleTimeout);
    expect(err.name).toBe("TimeoutError");
    expect(b.state.cancelled).toBe(true);
  });

  test("unwrapResponse", () => {
    expect(unwrapResponse({ response: { x: 1 }, traceId: "t" })).toEqual({ x: 1 });
    expect(unwrapResponse({ x: 1 })).toEqual({ x: 1 });
  });
});

test("a 16 MiB event in 16 KiB pieces is searched in linear time (a bound on work, not on the clock)", () => {
  const { EventSplitter } = require("../../src/upstream/sse") as typeof import("../../src/upstream/sse");
  const big = JSON.stringify({ response: { text: "x".repeat(16 * 1024 * 1024) } });
  const stream = `data: ${big}\r\n\r\ndata: {"n":2}\n\n`;
  const splitter = new EventSplitter();
  const got: string[] = [];
  for (let i = 0; i < stream.length; i += 16 * 1024) got.push(...splitter.push(stream.slice(i, i + 16 * 1024)));
  got.push(...splitter.push("", true));
  expect(got.length).toBe(2);
  expect(got[0]!.length).toBe(big.length);
  expect(got[1]).toBe('{"n":2}');
  expect(splitter.scanned).toBeLessThanOrEqual(2 * stream.length);
});

test.each([1, 2, 3, 7])("events split at every %d characters (CR LF across pieces) come out whole", (step) => {
  const { EventSplitter } = require("../../src/upstream/sse") as typeof import("../../src/upstream/sse");
  const stream = 'data: {"a":1}\r\n\r\n: comment\n\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: [DONE]\n\n';
  const s = new EventSplitter();
  const got: string[] = [];
  for (let i = 0; i < stream.length; i += step) got.push(...s.push(stream.slice(i, i + step)));
  got.push(...s.push("", true));
  expect(got).toEqual(['{"a":1}', '{"b":\n2}', "[DONE]"]);
});

test("any cut of a body with mixed line ends gives the events the whole body gives (seeded fuzz)", () => {
  const { EventSplitter } = require("../../src/upstream/sse") as typeof import("../../src/upstream/sse");
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const ends = ["\n", "\r\n", "\r"];
  const read = (pieces: string[]) => {
    const s = new EventSplitter();
    const got = pieces.flatMap((p) => s.push(p));
    return [...got, ...s.push("", true)];
  };
  for (let round = 0; round < 200; round++) {
    let text = "";
    for (let e = rnd(6); e >= 0; e--) {
      for (let l = rnd(3); l >= 0; l--)
        text += [`data: {"n":${rnd(100)}}`, "data:x", ": note", "event: m", "data:", "id: 7"][rnd(6)] + ends[rnd(3)];
      text += ends[rnd(3)];
    }
    const whole = read([text]);
    const pieces: string[] = [];
    for (let at = 0; at < text.length;) {
      const n = 1 + rnd(9);
      pieces.push(text.slice(at, at + n));
      at += n;
    }
    expect(read(pieces)).toEqual(whole);
  }
});
