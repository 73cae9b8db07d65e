// The transcription mapper, row by row: the file's real type, the form fields, the instruction and the
// request, reading timestamped answers, and the answer in each response_format (src/openai/audio.ts).
import { describe, expect, test } from "bun:test";
import {
  AUDIO_FORMATS,
  MAX_AUDIO_BYTES,
  answerText,
  audioTypeOf,
  clock,
  extensionOf,
  languageName,
  languageOf,
  parseTranscript,
  refusalOf,
  renderTranscription,
  responseFormatOf,
  seconds,
  sniffAudio,
  temperatureOf,
  toSrt,
  toVtt,
  transcriptionInstruction,
  transcriptionModelFor,
  transcriptionRequest,
  wavDuration,
  type ResponseFormat,
  type Segment,
} from "../../src/openai/audio";
import { ApiError } from "../../src/core/errors";
import type { GeminiResponse } from "../../src/upstream/types";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : p)));
const pad = (b: Uint8Array, n = 32) => {
  const out = new Uint8Array(Math.max(n, b.length));
  out.set(b);
  return out;
};

/** a PCM WAV header for `dataBytes` bytes at `rate` Hz, mono, 16 bit (+ the data, zeroed) */
function wav(dataBytes: number, rate = 8000, extraChunk = false): Uint8Array {
  const extra = extraChunk ? 8 + 5 + 1 : 0; // an odd-sized LIST chunk, padded to even
  const b = Buffer.alloc(44 + extra + dataBytes);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + extra + dataBytes, 4);
  b.write("WAVE", 8);
  b.write("fmt ", 12);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  let at = 36;
  if (extraChunk) {
    b.write("LIST", at);
    b.writeUInt32LE(5, at + 4);
    b.write("hello", at + 8);
    at += 14;
  }
  b.write("data", at);
  b.writeUInt32LE(dataBytes, at + 4);
  return new Uint8Array(b);
}

describe("sniffAudio: the format by its magic bytes", () => {
  const ROWS: [string, Uint8Array, string | undefined][] = [
    ["RIFF/WAVE", wav(16), "wav"],
    ["RIFF without WAVE (AVI)", pad(bytes("RIFF", [0, 0, 0, 0], "AVI LIST")), undefined],
    ["fLaC", pad(bytes("fLaC", [0, 0, 0, 34])), "flac"],
    ["OggS", pad(bytes("OggS", [0, 2])), "ogg"],
    ["EBML (WebM)", pad(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f])), "webm"],
    ["ftyp isom (MP4)", pad(bytes([0, 0, 0, 0x20], "ftypisom")), "mp4"],
    ["ftyp M4A (m4a)", pad(bytes([0, 0, 0, 0x20], "ftypM4A ")), "m4a"],
    ["ID3 tag (MP3)", pad(bytes("ID3", [4, 0, 0, 0, 0, 0, 0])), "mp3"],
    ["ID3 tag before fLaC", pad(bytes("ID3", [4, 0, 0, 0, 0, 0, 2], [0, 0], "fLaC")), "flac"],
    ["frame sync 0xFFFB (MPEG-1 layer III)", pad(bytes([0xff, 0xfb, 0x90, 0x64])), "mp3"],
    ["frame sync 0xFFF3 (MPEG-2 layer III)", pad(bytes([0xff, 0xf3, 0x90, 0x64])), "mp3"],
    ["0xFFF1 (AAC ADTS): not MP3", pad(bytes([0xff, 0xf1, 0x50, 0x80])), undefined],
    ["PNG", pad(bytes([0x89], "PNG\r\n")), undefined],
    ["text", bytes("hello there"), undefined],
    ["empty", new Uint8Array(0), undefined],
    ["a lone 0xFF", bytes([0xff]), undefined],
    ["RIFF cut short", bytes("RIFF"), undefined],
  ];
  for (const [what, b, format] of ROWS) test(`${what} → ${format ?? "(unknown)"}`, () => expect(sniffAudio(b)).toBe(format as never));
});

describe("audioTypeOf: magic bytes, then the declared type, then the name", () => {
  const NOISE = bytes("\x00\x01\x02\x03 some audio-ish bytes");
  const ROWS: [string, { name?: string; type?: string; bytes: Uint8Array }, string][] = [
    ["a WAV named .wav", { name: "hello.wav", bytes: wav(16) }, "audio/wav"],
    ["a WAV named .mp3 (the bytes win)", { name: "hello.mp3", type: "audio/mpeg", bytes: wav(16) }, "audio/wav"],
    ["an MP3 without a name", { bytes: pad(bytes("ID3", [4, 0, 0, 0, 0, 0, 0])) }, "audio/mp3"],
    ["an Ogg named .bin", { name: "x.bin", bytes: pad(bytes("OggS")) }, "audio/ogg"],
    ["unknown bytes, declared audio/x-wav", { name: "blob", type: "audio/x-wav", bytes: NOISE }, "audio/wav"],
    ["unknown bytes, declared audio/mpeg; charset", { type: "Audio/MPEG; foo=bar", bytes: NOISE }, "audio/mp3"],
    ["unknown bytes, declared video/webm", { type: "video/webm", bytes: NOISE }, "audio/webm"],
    [
      "unknown bytes, declared application/octet-stream, named .m4a",
      { name: "a.M4A", type: "application/octet-stream", bytes: NOISE },
      "audio/mp4",
    ],
  ];
  const BY_NAME: Record<(typeof AUDIO_FORMATS)[number], string> = {
    flac: "audio/flac",
    m4a: "audio/mp4",
    mp3: "audio/mp3",
    mp4: "audio/mp4",
    mpeg: "audio/mp3",
    mpga: "audio/mp3",
    ogg: "audio/ogg",
    wav: "audio/wav",
    webm: "audio/webm",
  };
  for (const ext of AUDIO_FORMATS) ROWS.push([`unknown bytes named .${ext}`, { name: `clip.${ext}`, bytes: NOISE }, BY_NAME[ext]]);
  for (const [what, file, mime] of ROWS) test(`${what} → ${mime}`, () => expect(audioTypeOf(file).mimeType).toBe(mime));

  test("the accepted formats are OpenAI's list", () => {
    expect([...AUDIO_FORMATS]).toEqual(["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "ogg", "wav", "webm"]);
  });

  const REFUSED: [string, { name?: string; type?: string; bytes: Uint8Array }, string][] = [
    ["a .txt file", { name: "notes.txt", type: "text/plain", bytes: bytes("hello") }, 'file "notes.txt" has the format "txt"'],
    ["no extension, declared text/plain", { name: "notes", type: "text/plain", bytes: bytes("hello") }, 'has the format "text/plain"'],
    ["nothing known at all", { bytes: bytes("hello") }, 'has the format "unknown"'],
    ["an octet stream without a name", { type: "application/octet-stream", bytes: bytes("hello") }, 'has the format "unknown"'],
    ["an image named .wav", { name: "photo.wav", bytes: pad(bytes([0x89], "PNG\r\n")) }, "file is an image (image/png), not audio"],
    ["AAC (not accepted) named .aac", { name: "a.aac", bytes: pad(bytes([0xff, 0xf1, 0x50, 0x80])) }, 'has the format "aac"'],
  ];
  for (const [what, file, message] of REFUSED)
    test(`${what} → 400 naming it and listing the accepted formats`, () => {
      let err: unknown;
      try {
        audioTypeOf(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).param).toBe("file");
      expect((err as ApiError).message).toContain(message);
      expect((err as ApiError).message).toContain("flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm");
    });
});

test("extensionOf", () => {
  expect(extensionOf("talk.final.WAV")).toBe("wav");
  expect(extensionOf("noext")).toBe("");
  expect(extensionOf(undefined)).toBe("");
  expect(extensionOf(".hidden")).toBe("hidden");
});

test("MAX_AUDIO_BYTES is 20 MiB of raw audio", () => expect(MAX_AUDIO_BYTES).toBe(20 * 1024 * 1024));

describe("wavDuration", () => {
  const ROWS: [string, Uint8Array, number | undefined][] = [
    ["8000 Hz mono 16 bit, 1600 bytes", wav(1600), 0.1],
    ["16000 Hz, 64000 bytes", wav(64000, 16000), 2],
    ["an odd-sized chunk before data", wav(1600, 8000, true), 0.1],
    [
      "a data size past the end (streamed WAV) counts what is there",
      (() => {
        const b = wav(800);
        new DataView(b.buffer).setUint32(40, 0xffffffff, true);
        return b;
      })(),
      0.05,
    ],
    ["not a WAV", pad(bytes("OggS")), undefined],
    ["a header cut before data", wav(0).subarray(0, 30), undefined],
  ];
  for (const [what, b, secs] of ROWS) test(`${what} → ${secs}`, () => expect(wavDuration(b)).toBe(secs as never));
});

describe("the form fields", () => {
  const FORMATS: [string | undefined, ResponseFormat | string][] = [
    [undefined, "json"],
    ["", "json"],
    ["json", "json"],
    ["TEXT", "text"],
    ["srt", "srt"],
    ["vtt", "vtt"],
    [" verbose_json ", "verbose_json"],
    ["diarized_json", 'response_format "diarized_json" is not supported; use one of json, text, srt, verbose_json, vtt'],
    ["xml", 'response_format "xml" is not supported'],
  ];
  for (const [v, out] of FORMATS)
    test(`response_format ${JSON.stringify(v)} → ${out}`, () => {
      if (out.includes(" ")) expect(() => responseFormatOf(v)).toThrow(out);
      else expect(responseFormatOf(v)).toBe(out as ResponseFormat);
    });

  const TEMPS: [string | number | undefined, number | undefined | "error"][] = [
    [undefined, undefined],
    ["", undefined],
    ["  ", undefined],
    ["0", 0],
    ["0.4", 0.4],
    ["1", 1],
    [0.2, 0.2],
    ["1.5", "error"],
    ["-0.1", "error"],
    ["warm", "error"],
    ["NaN", "error"],
  ];
  for (const [v, out] of TEMPS)
    test(`temperature ${JSON.stringify(v)} → ${out}`, () => {
      if (out === "error") {
        expect(() => temperatureOf(v)).toThrow("temperature must be a number from 0 to 1");
        try {
          temperatureOf(v);
        } catch (e) {
          expect((e as ApiError).param).toBe("temperature");
        }
      } else expect(temperatureOf(v)).toBe(out as never);
    });

  const LANGS: [string | undefined, string | undefined | "error"][] = [
    [undefined, undefined],
    ["", undefined],
    ["en", "en"],
    ["DE", "de"],
    ["pt-BR", "pt-br"],
    ["zh_TW", "zh-tw"],
    ["haw", "haw"],
    ["english", "error"],
    ["e", "error"],
    ["en; drop", "error"],
  ];
  for (const [v, out] of LANGS)
    test(`language ${JSON.stringify(v)} → ${out}`, () => {
      if (out === "error") expect(() => languageOf(v)).toThrow("language must be an ISO-639-1 code");
      else expect(languageOf(v)).toBe(out as never);
    });

  const NAMES: [string, string][] = [
    ["en", "english"],
    ["de", "german"],
    ["fr", "french"],
    ["qq", "qq"],
    ["German", "german"],
  ];
  for (const [code, name] of NAMES) test(`languageName ${code} → ${name}`, () => expect(languageName(code)).toBe(name));

  const MODELS: [string, string][] = [
    ["whisper-1", "cfg-model"],
    ["WHISPER-1", "cfg-model"],
    ["gpt-4o-transcribe", "cfg-model"],
    ["gpt-4o-mini-transcribe", "cfg-model"],
    ["gpt-4o-mini-transcribe-2025-03-20", "cfg-model"],
    ["gpt-4o-transcribe-diarize", "cfg-model"],
    ["gemini-2.5-pro", "gemini-2.5-pro"],
    [" gemini-3-flash ", "gemini-3-flash"],
    ["gpt-4o", "gpt-4o"],
  ];
  for (const [name, model] of MODELS) test(`model ${name} → ${model}`, () => expect(transcriptionModelFor(name, "cfg-model")).toBe(model));
});

describe("the request", () => {
  const audio = { mimeType: "audio/wav", data: "UklGRg==" };

  test("the audio first, then the instruction; no generationConfig without a temperature", () => {
    const r = transcriptionRequest(audio, { format: "json" });
    expect(r.contents).toHaveLength(1);
    expect(r.contents[0]!.role).toBe("user");
    expect(r.contents[0]!.parts[0]).toEqual({ inlineData: audio });
    expect(typeof r.contents[0]!.parts[1]!.text).toBe("string");
    expect(r.generationConfig).toBeUndefined();
  });

  test("temperature goes into generationConfig (0 too)", () => {
    expect(transcriptionRequest(audio, { format: "json", temperature: 0 }).generationConfig).toEqual({ temperature: 0 });
    expect(transcriptionRequest(audio, { format: "text", temperature: 0.7 }).generationConfig).toEqual({ temperature: 0.7 });
  });

  const ROWS: [string, Parameters<typeof transcriptionInstruction>[0], string[], string[]][] = [
    [
      "json: verbatim, text only, no times",
      { format: "json" },
      ["verbatim", "transcript text only", "no times"],
      ["timestamp", "[MM:SS", "language:"],
    ],
    ["text: the same", { format: "text" }, ["verbatim", "transcript text only"], ["timestamp", "[MM:SS"]],
    ["srt: timestamped lines", { format: "srt" }, ["with timestamps", "[MM:SS.mmm --> MM:SS.mmm]"], ["language:"]],
    ["vtt: timestamped lines", { format: "vtt" }, ["with timestamps", "[MM:SS.mmm --> MM:SS.mmm]"], ["language:"]],
    ["verbose_json without a language: asks for the language line", { format: "verbose_json" }, ["[MM:SS.mmm", '"language: xx"'], []],
    [
      "verbose_json with a language: names it, no language line",
      { format: "verbose_json", language: "de" },
      ["German", '"de"'],
      ['"language: xx"'],
    ],
    ["a language hint", { format: "json", language: "fr" }, ["The speech is in French", 'ISO-639-1 code "fr"'], []],
    ["an unknown language code is passed as given", { format: "json", language: "qq" }, ['the language "qq"'], []],
    [
      "a prompt is context between markers, not to transcribe",
      { format: "json", prompt: "  Switchyard, Gemini, OAuth  " },
      ["<<<\nSwitchyard, Gemini, OAuth\n>>>", "do not transcribe it"],
      [],
    ],
    ["a blank prompt adds nothing", { format: "json", prompt: "   " }, [], ["<<<"]],
  ];
  for (const [what, opts, has, hasNot] of ROWS)
    test(what, () => {
      const text = transcriptionInstruction(opts);
      for (const s of has) expect(text).toContain(s);
      for (const s of hasNot) expect(text).not.toContain(s);
    });
});

describe("reading a timestamped answer", () => {
  test("seconds and clock", () => {
    expect(seconds("00:04.200")).toBe(4.2);
    expect(seconds("1:02:03,5")).toBe(3723.5);
    expect(seconds("2:03")).toBe(123);
    expect(seconds("00:00:01,007")).toBe(1.007);
    expect(clock(3723.5, ",")).toBe("01:02:03,500");
    expect(clock(0.0504, ".")).toBe("00:00:00.050");
    expect(clock(-1, ".")).toBe("00:00:00.000");
  });

  const seg = (start: number, end: number, text: string) => ({ start, end, text });
  const ROWS: [string, string, number | undefined, { start: number; end: number; text: string }[], string?][] = [
    [
      "the asked format",
      "[00:00.000 --> 00:02.500] Hello there.\n[00:02.500 --> 00:05.000] General Kenobi.",
      undefined,
      [seg(0, 2.5, "Hello there."), seg(2.5, 5, "General Kenobi.")],
    ],
    [
      "hours, commas, a language line first",
      "language: de\n[00:59:59,000 --> 01:00:01,250] Guten Tag",
      undefined,
      [seg(3599, 3601.25, "Guten Tag")],
      "de",
    ],
    [
      "SRT as the model may write it anyway",
      "1\n00:00:00,000 --> 00:00:01,500\nHello\nworld\n\n2\n00:00:01,500 --> 00:00:03,000\nagain\n",
      undefined,
      [seg(0, 1.5, "Hello world"), seg(1.5, 3, "again")],
    ],
    [
      "WebVTT with a header, inside a markdown fence",
      "```vtt\nWEBVTT\n\n00:00.000 --> 00:01.000\none\n\n00:01.000 --> 00:02.000\ntwo\n```",
      undefined,
      [seg(0, 1, "one"), seg(1, 2, "two")],
    ],
    [
      "start times only: each ends where the next starts, the last at the duration",
      "[00:00] first\n[00:03] second\n[00:07] third",
      9,
      [seg(0, 3, "first"), seg(3, 7, "second"), seg(7, 9, "third")],
    ],
    ["start times only, no duration: the last ends where it starts", "[0:01] a\n[0:02] b", undefined, [seg(1, 2, "a"), seg(2, 2, "b")]],
    [
      "other brackets and arrows",
      "(00:01 - 00:02): a\n[00:02->00:03] b\n00:03 to 00:04 c",
      undefined,
      [seg(1, 2, "a"), seg(2, 3, "b"), seg(3, 4, "c")],
    ],
    ["no times at all: one segment over the duration", "Just words.\nMore words.", 4.2, [seg(0, 4.2, "Just words. More words.")]],
    ["no times and no duration", "Just words.", undefined, [seg(0, 0, "Just words.")]],
    ["an end before its start is lifted to the start", "[00:05 --> 00:03] odd", undefined, [seg(5, 5, "odd")]],
    [
      "a bare clock time in the words is words",
      "[00:00 --> 00:02] we meet at\n10:30 is late",
      undefined,
      [seg(0, 2, "we meet at 10:30 is late")],
    ],
    ["a number line not before a time is words", "[00:00 --> 00:02] the answer is\n42", undefined, [seg(0, 2, "the answer is 42")]],
    ["a time line without words is dropped", "[00:00 --> 00:01]\n[00:01 --> 00:02] words", undefined, [seg(1, 2, "words")]],
    ["nothing", "", 3, []],
    ["a language line only (no speech)", "language: en", 3, [], "en"],
    ["a language line after the segments is words", "[00:00 --> 00:01] a\nlanguage: en", undefined, [seg(0, 1, "a language: en")]],
    ["language given as a name", "Language: German\n[00:00 --> 00:01] a", undefined, [seg(0, 1, "a")], "German"],
    [
      "language: then 40 KB of spaces and tabs (the pattern once took seconds of the server's thread on it)",
      "language:" + " \t".repeat(20_000) + "!1",
      undefined,
      [seg(0, 0, "language:" + " \t".repeat(20_000) + "!1")],
    ],
  ];
  for (const [what, text, duration, segments, language] of ROWS)
    test(what, () => {
      const t = parseTranscript(answerText({ candidates: [{ content: { role: "model", parts: [{ text }] } }] }), duration);
      expect(t.segments.map(({ start, end, text }) => ({ start, end, text }))).toEqual(segments);
      expect(t.segments.map((s) => s.id)).toEqual(segments.map((_, i) => i));
      expect(t.language).toBe(language as never);
    });
});

describe("the answer in each response_format", () => {
  const answer = (text: string, extra: Partial<GeminiResponse> = {}): GeminiResponse => ({
    candidates: [{ content: { role: "model", parts: [{ text: "thinking…", thought: true }, { text }] }, finishReason: "STOP" }],
    usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 10, thoughtsTokenCount: 5, totalTokenCount: 55 },
    ...extra,
  });
  const TIMED = "language: fr\n[00:00.000 --> 00:01.250] Bonjour\n[00:01.250 --> 00:02.000] à tous";
  const segments: Segment[] = [
    { id: 0, start: 0, end: 1.25, text: "Bonjour" },
    { id: 1, start: 1.25, end: 2, text: "à tous" },
  ];

  test("json: {text, usage} without thoughts", () => {
    const r = renderTranscription("json", answer("  Hello world.  "));
    expect(r.contentType).toBe("application/json");
    expect(JSON.parse(r.body)).toEqual({
      text: "Hello world.",
      usage: { type: "tokens", input_tokens: 40, output_tokens: 15, total_tokens: 55 },
    });
  });

  test("json without usage from upstream: {text} only", () => {
    expect(JSON.parse(renderTranscription("json", answer("hi", { usageMetadata: undefined })).body)).toEqual({ text: "hi" });
  });

  test("json: a fenced answer loses its fence", () => {
    expect(JSON.parse(renderTranscription("json", answer("```\nHello\n```")).body).text).toBe("Hello");
  });

  test("text: the transcript and a newline, text/plain", () => {
    expect(renderTranscription("text", answer("Hello world."))).toEqual({
      body: "Hello world.\n",
      contentType: "text/plain; charset=utf-8",
    });
    expect(renderTranscription("text", answer("")).body).toBe("");
  });

  test("srt", () => {
    const r = renderTranscription("srt", answer(TIMED));
    expect(r.contentType).toBe("text/plain; charset=utf-8");
    expect(r.body).toBe("1\n00:00:00,000 --> 00:00:01,250\nBonjour\n\n2\n00:00:01,250 --> 00:00:02,000\nà tous\n\n");
    expect(toSrt(segments)).toBe(r.body);
  });

  test("vtt", () => {
    const r = renderTranscription("vtt", answer(TIMED));
    expect(r.contentType).toBe("text/vtt; charset=utf-8");
    expect(r.body).toBe("WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nBonjour\n\n00:00:01.250 --> 00:00:02.000\nà tous\n\n");
    expect(toVtt(segments)).toBe(r.body);
    expect(toVtt([])).toBe("WEBVTT\n\n");
  });

  test("verbose_json: OpenAI's shape; the answer's language line names the language", () => {
    const body = JSON.parse(renderTranscription("verbose_json", answer(TIMED), { temperature: 0.3 }).body);
    expect(body).toEqual({
      task: "transcribe",
      language: "french",
      duration: 2,
      text: "Bonjour à tous",
      segments: segments.map((s) => ({
        ...s,
        seek: 0,
        tokens: [],
        temperature: 0.3,
        avg_logprob: 0,
        compression_ratio: 1,
        no_speech_prob: 0,
      })),
      usage: { type: "duration", seconds: 2 },
    });
  });

  test("verbose_json: the client's language wins, the file's duration wins", () => {
    const body = JSON.parse(renderTranscription("verbose_json", answer(TIMED), { language: "en", duration: 2.345 }).body);
    expect(body.language).toBe("english");
    expect(body.duration).toBe(2.345);
    expect(body.usage).toEqual({ type: "duration", seconds: 3 });
  });

  test("verbose_json: no language anywhere → unknown; nothing said → no segments", () => {
    const body = JSON.parse(renderTranscription("verbose_json", answer(""), { duration: 1 }).body);
    expect(body).toMatchObject({ language: "unknown", duration: 1, text: "", segments: [] });
  });

  test("refusals: a blocked prompt or a filtered finish without text is a 400 with the served headers", () => {
    const headers = { "x-account-email": "a@example.com" };
    const blocked = refusalOf({ promptFeedback: { blockReason: "SAFETY" } }, headers);
    expect(blocked?.status).toBe(400);
    expect(blocked?.message).toContain("SAFETY");
    expect(blocked?.options.headers).toEqual(headers);
    expect(refusalOf({ candidates: [{ finishReason: "RECITATION" }] })?.message).toContain("RECITATION");
    // a filtered finish after some text keeps the text
    expect(
      refusalOf(answer("some words", { candidates: [{ content: { parts: [{ text: "w" }] }, finishReason: "SAFETY" }] })),
    ).toBeUndefined();
    expect(refusalOf(answer("fine"))).toBeUndefined();
    expect(refusalOf({ candidates: [{ finishReason: "MAX_TOKENS" }] })).toBeUndefined();
  });
});
