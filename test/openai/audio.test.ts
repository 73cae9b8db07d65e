// POST /v1/audio/transcriptions with the real OpenAI SDK against a running gateway backed by the upstream
// simulator: every response_format, the model mapping, what upstream received, and each refusal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startStack, type Stack } from "../helpers/stack";
import { MAX_AUDIO_BYTES } from "../../src/openai/audio";

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  // two accounts and one attempt per call: an injected failure reaches the client, and the next call has a healthy account
  stack = await startStack({ accounts: 2, delays: false, config: { scheduling: { maxAttempts: 1 } } });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(() => stack?.stop());

const RATE = 8000;
const SAMPLES = 480;
/** seconds of audio in hello.wav */
const DURATION = SAMPLES / RATE;

/** a valid 44-byte PCM WAV header (mono, 16 bit) and a 440 Hz sine */
function sineWav(samples = SAMPLES, rate = RATE): Uint8Array {
  const b = Buffer.alloc(44 + samples * 2);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write("WAVE", 8);
  b.write("fmt ", 12);
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write("data", 36);
  b.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000), 44 + i * 2);
  return new Uint8Array(b);
}

const WAV = sineWav();
const TRANSCRIPT = `transcript of ${WAV.length} bytes of audio/wav`;

/** the generateContent calls upstream received since `before` */
const upstreamCalls = (before: number) => stack.sim.requests({ method: "generateContent" }).slice(before);
const callCount = () => stack.sim.requests({ method: "generateContent" }).length;

async function post(fields: Record<string, string | Blob | undefined>): Promise<{ status: number; json: any; headers: Headers }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) fd.set(k, v as never);
  const r = await fetch(stack.url + "/v1/audio/transcriptions", {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}` },
    body: fd,
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

const wavFile = (bytes: Uint8Array = WAV, name = "hello.wav") => new File([bytes as Uint8Array<ArrayBuffer>], name);

function expectOpenAIError(json: any, param: string, ...words: string[]) {
  expect(Object.keys(json)).toEqual(["error"]);
  expect(json.error.type).toBe("invalid_request_error");
  expect(json.error.param).toBe(param);
  for (const w of words) expect(json.error.message).toContain(w);
}

describe("each response_format through the OpenAI SDK", () => {
  test("json (the default): {text, usage}, the served-by headers, and what upstream received", async () => {
    const before = callCount();
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1" })
      .withResponse();
    expect(data.text).toBe(TRANSCRIPT);
    expect(data.usage).toMatchObject({ type: "tokens" });
    expect((data.usage as { total_tokens: number }).total_tokens).toBeGreaterThan(0);
    expect(response.headers.get("content-type")).toStartWith("application/json");

    const calls = upstreamCalls(before);
    expect(calls).toHaveLength(1);
    expect(response.headers.get("x-account-email")).toBe(calls[0]!.email!);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    const body = calls[0]!.body;
    expect(body.model).toBe("gemini-2.5-flash");
    const parts = body.request.contents[0].parts;
    expect(body.request.contents[0].role).toBe("user");
    expect(parts[0].inlineData).toEqual({ mimeType: "audio/wav", data: Buffer.from(WAV).toString("base64") });
    expect(parts[1].text).toContain("verbatim");
    expect(parts[1].text).not.toContain("timestamp");
    // no temperature asked: the model's default
    expect(body.request.generationConfig?.temperature).toBeUndefined();
  });

  test("text: text/plain, the transcript", async () => {
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1", response_format: "text" })
      .withResponse();
    expect(response.headers.get("content-type")).toStartWith("text/plain");
    expect(data.trim()).toBe(TRANSCRIPT);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    expect(response.headers.get("x-account-email")).toEndWith("@example.com");
  });

  test("srt: numbered cues with comma times, ending at the audio's length", async () => {
    const before = callCount();
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1", response_format: "srt" })
      .withResponse();
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    expect(data).toBe(
      "1\n00:00:00,000 --> 00:00:00,030\ntranscript of 1004\n\n" + "2\n00:00:00,030 --> 00:00:00,060\nbytes of audio/wav\n\n",
    );
    // upstream was asked for timestamps
    expect(upstreamCalls(before)[0]!.body.request.contents[0].parts[1].text).toContain("[MM:SS.mmm --> MM:SS.mmm]");
  });

  test("vtt: a WEBVTT header and dotted times", async () => {
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1", response_format: "vtt" })
      .withResponse();
    expect(response.headers.get("content-type")).toStartWith("text/vtt");
    expect(data).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:00:00.030\ntranscript of 1004\n\n" + "00:00:00.030 --> 00:00:00.060\nbytes of audio/wav\n\n",
    );
  });

  test("verbose_json: task, language, duration, text and segments as OpenAI returns them", async () => {
    const before = callCount();
    const { data, response } = await client.audio.transcriptions
      .create({
        file: await toFile(WAV, "hello.wav"),
        model: "whisper-1",
        response_format: "verbose_json",
        timestamp_granularities: ["segment"],
      })
      .withResponse();
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    expect(data).toMatchObject({ task: "transcribe", language: "english", duration: DURATION, text: TRANSCRIPT });
    expect(data.segments).toHaveLength(2);
    expect(data.segments![0]).toMatchObject({ id: 0, start: 0, end: DURATION / 2, text: "transcript of 1004" });
    expect(data.segments![1]).toMatchObject({ id: 1, start: DURATION / 2, end: DURATION, text: "bytes of audio/wav" });
    for (const s of data.segments!)
      expect(Object.keys(s).sort()).toEqual(
        ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"].sort(),
      );
    expect(data.usage).toEqual({ type: "duration", seconds: 1 });
    // no language given: upstream was asked to name it
    expect(upstreamCalls(before)[0]!.body.request.contents[0].parts[1].text).toContain("language: xx");
  });
});

describe("the model and the hints", () => {
  for (const model of ["gpt-4o-transcribe", "gpt-4o-mini-transcribe"])
    test(`${model} → openai.transcriptionModel (gemini-2.5-flash)`, async () => {
      const before = callCount();
      const { data, response } = await client.audio.transcriptions.create({ file: await toFile(WAV, "hello.wav"), model }).withResponse();
      expect(data.text).toBe(TRANSCRIPT);
      expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
      expect(upstreamCalls(before)[0]!.body.model).toBe("gemini-2.5-flash");
    });

  test("a Gemini model name is resolved like on every route", async () => {
    const before = callCount();
    const { response } = await client.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "models/gemini-2.5-pro" })
      .withResponse();
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-pro");
    expect(upstreamCalls(before)[0]!.body.model).toBe("gemini-2.5-pro");
  });

  test("language, prompt and temperature reach upstream", async () => {
    const before = callCount();
    const data = await client.audio.transcriptions.create({
      file: await toFile(WAV, "hello.wav"),
      model: "whisper-1",
      response_format: "verbose_json",
      language: "de",
      prompt: "Switchyard, Kubernetes",
      temperature: 0.3,
    });
    // the client's language names the answer's
    expect(data.language).toBe("german");
    expect(data.segments![0]!.temperature).toBe(0.3);
    const req = upstreamCalls(before)[0]!.body.request;
    expect(req.generationConfig).toEqual({ temperature: 0.3 });
    const instruction: string = req.contents[0].parts[1].text;
    expect(instruction).toContain("The speech is in German");
    expect(instruction).toContain("Switchyard, Kubernetes");
    expect(instruction).not.toContain("language: xx");
  });

  test("the real type comes from the magic bytes, then the name", async () => {
    const cases: [Uint8Array, string, string][] = [
      // MP3 bytes (an ID3 tag) under a misleading name
      [
        new Uint8Array([...Buffer.from("ID3"), 4, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64, ...new Array(64).fill(0)]),
        "voice.wav",
        "audio/mp3",
      ],
      [new Uint8Array([0, 0, 0, 0x20, ...Buffer.from("ftypM4A "), ...new Array(64).fill(0)]), "memo.m4a", "audio/mp4"],
      [new Uint8Array([...Buffer.from("OggS"), 0, 2, ...new Array(64).fill(0)]), "clip", "audio/ogg"],
      [new Uint8Array([...Buffer.from("fLaC"), ...new Array(64).fill(0)]), "song.flac", "audio/flac"],
      [new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, ...new Array(64).fill(0)]), "rec.webm", "audio/webm"],
      // no magic the gateway knows: the extension decides
      [new Uint8Array(64).fill(7), "talk.mpga", "audio/mp3"],
    ];
    for (const [bytes, name, mime] of cases) {
      const before = callCount();
      const data = await client.audio.transcriptions.create({ file: await toFile(bytes, name), model: "whisper-1" });
      expect(data.text).toBe(`transcript of ${bytes.length} bytes of ${mime}`);
      expect(upstreamCalls(before)[0]!.body.request.contents[0].parts[0].inlineData.mimeType).toBe(mime);
    }
  });

  test("a file at exactly the limit is taken", async () => {
    const big = new Uint8Array(MAX_AUDIO_BYTES);
    big.set(WAV.subarray(0, 44));
    const r = await post({ file: wavFile(big, "long.wav"), model: "whisper-1", response_format: "text" });
    expect(r.status).toBe(200);
    expect(r.json.trim()).toBe(`transcript of ${MAX_AUDIO_BYTES} bytes of audio/wav`);
  });
});

describe("refusals: 4xx in OpenAI's shape, naming the field, before any upstream call", () => {
  const CASES: [string, () => Record<string, string | Blob | undefined>, number, string, string[]][] = [
    ["a missing file", () => ({ model: "whisper-1" }), 400, "file", ["file is required"]],
    ["a missing model", () => ({ file: wavFile() }), 400, "model", ["model is required", "whisper-1"]],
    ["a blank model", () => ({ file: wavFile(), model: "  " }), 400, "model", ["model is required"]],
    ["an empty file", () => ({ file: wavFile(new Uint8Array(0)), model: "whisper-1" }), 400, "file", ["file is empty"]],
    [
      "an unknown format",
      () => ({ file: new File(["just some text"], "notes.txt", { type: "text/plain" }), model: "whisper-1" }),
      400,
      "file",
      ['"txt"', "flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm"],
    ],
    [
      "a file over the inline limit",
      () => {
        const big = new Uint8Array(MAX_AUDIO_BYTES + 1);
        big.set(WAV.subarray(0, 44));
        return { file: wavFile(big, "long.wav"), model: "whisper-1" };
      },
      413,
      "file",
      [`${MAX_AUDIO_BYTES + 1} bytes`, `the limit is ${MAX_AUDIO_BYTES} bytes (20 MiB)`],
    ],
    [
      "an unknown response_format",
      () => ({ file: wavFile(), model: "whisper-1", response_format: "diarized_json" }),
      400,
      "response_format",
      ['"diarized_json"', "json, text, srt, verbose_json, vtt"],
    ],
    ["a temperature out of range", () => ({ file: wavFile(), model: "whisper-1", temperature: "3" }), 400, "temperature", ["from 0 to 1"]],
    ["a language that is no code", () => ({ file: wavFile(), model: "whisper-1", language: "klingon!" }), 400, "language", ["ISO-639-1"]],
    ["stream", () => ({ file: wavFile(), model: "whisper-1", stream: "true" }), 400, "stream", ["not supported"]],
    ["an image model", () => ({ file: wavFile(), model: "gemini-3.1-flash-image" }), 400, "model", ["does not take audio"]],
    ["a Claude model", () => ({ file: wavFile(), model: "claude-sonnet-4-6" }), 400, "model", ["does not take audio"]],
  ];
  for (const [what, fields, status, param, words] of CASES)
    test(`${what} → ${status} naming ${param}`, async () => {
      const before = callCount();
      const r = await post(fields());
      expect(r.status).toBe(status);
      expectOpenAIError(r.json, param, ...words);
      if (status === 413) expect(r.json.error.code).toBe("payload_too_large");
      expect(upstreamCalls(before)).toHaveLength(0);
    });

  test("through the SDK: a BadRequestError naming the field", async () => {
    const err = await client.audio.transcriptions
      .create({ file: await toFile(Buffer.from("hello"), "notes.txt"), model: "whisper-1" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("file");
    expect(err.error.type).toBe("invalid_request_error");
  });

  test("a broken multipart body → 400 saying so (not 'malformed JSON')", async () => {
    const r = await fetch(stack.url + "/v1/audio/transcriptions", {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "multipart/form-data; boundary=zzz" },
      body: "garbage",
    });
    expect(r.status).toBe(400);
    expectOpenAIError(await r.json(), "body", "malformed multipart/form-data body");
  });

  test("a body without multipart (JSON) → 400 naming file", async () => {
    const r = await fetch(stack.url + "/v1/audio/transcriptions", {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "whisper-1" }),
    });
    expect(r.status).toBe(400);
    expectOpenAIError(await r.json(), "file", "file is required");
  });

  test("file sent as a text field → 400 naming file", async () => {
    const r = await post({ file: "hello.wav", model: "whisper-1" });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe("file");
  });

  test("no API key → 401 in OpenAI's shape", async () => {
    const fd = new FormData();
    fd.set("file", wavFile());
    fd.set("model", "whisper-1");
    const r = await fetch(stack.url + "/v1/audio/transcriptions", { method: "POST", body: fd });
    expect(r.status).toBe(401);
    expect((await r.json()).error.type).toBe("authentication_error");
  });
});

describe("the simulator answers audio in other routes too", () => {
  test("chat with input_audio gets the transcript, not an echo", async () => {
    const data = Buffer.from(WAV).toString("base64");
    const r = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data, format: "wav" } }] }],
    });
    expect(r.choices[0]!.message.content).toBe(TRANSCRIPT);
  });

  test("chat without audio still echoes", async () => {
    const r = await client.chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "plain words" }] });
    expect(r.choices[0]!.message.content).toBe("Echo: plain words");
  });
});

describe("an upstream failure", () => {
  test("reaches the client in OpenAI's shape with the status the gateway decides", async () => {
    stack.sim.addFault({ kind: "internal_500", times: 1, method: "generateContent" });
    const err = await client.audio.transcriptions.create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(typeof err.error.message).toBe("string");
    expect(typeof err.error.type).toBe("string");
  });
});

describe("openai.transcriptionModel", () => {
  let other: Stack;
  beforeAll(async () => {
    other = await startStack({ delays: false, config: { openai: { transcriptionModel: "gemini-3-flash" } } });
  });
  afterAll(() => other?.stop());

  test("whisper-1 goes to the configured model", async () => {
    const c = new OpenAI({ apiKey: other.apiKey, baseURL: other.url + "/v1", maxRetries: 0 });
    const { data, response } = await c.audio.transcriptions
      .create({ file: await toFile(WAV, "hello.wav"), model: "whisper-1" })
      .withResponse();
    expect(data.text).toBe(TRANSCRIPT);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3-flash");
    // Gemini 3 unary requests go upstream as streams (and are assembled)
    const calls = other.sim.requests().filter((r) => /generateContent$/i.test(r.method));
    expect(calls.at(-1)!.body.model).toBe("gemini-3-flash");
  });
});
