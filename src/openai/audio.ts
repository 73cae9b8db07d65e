// OpenAI audio transcriptions ↔ Gemini: the audio file's real type (magic bytes, declared type, name),
// the form fields, the Gemini request (the audio as inlineData plus an instruction asking for a verbatim
// transcript, timestamped when the format needs times) and the answer in each response_format. Pure.
import { blockReason, isFiltered, tokenCounts } from "../protocol/answer";
import { sniffImageType, type InlineData } from "../protocol/media";
import { ApiError, badRequest } from "../core/errors";
import type { GeminiRequest, GeminiResponse } from "../upstream/types";

/**
 * The most raw audio one request takes. The audio travels inline (base64) in the request to Google, whose
 * inline data is capped at 20 MB per request; bigger files would need an upload API the gateway's
 * upstream does not offer, so they are refused here with a 413 before any upstream call.
 */
export const MAX_AUDIO_BYTES = 20 * 1024 * 1024;

/** the file formats OpenAI's transcription API takes, by the names it gives them */
export const AUDIO_FORMATS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "ogg", "wav", "webm"] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/** the MIME type each format goes upstream as (Gemini's audio types; MP4 and WebM as their audio types) */
const MIME: Record<AudioFormat, string> = {
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

/** the MIME type a format name goes upstream as (chat's input_audio.format); undefined for one OpenAI does not take */
export function audioMimeOf(format: string): string | undefined {
  const f = format.toLowerCase();
  return Object.hasOwn(MIME, f) ? MIME[f as AudioFormat] : undefined;
}

/** content types clients and browsers declare for those formats */
const DECLARED: Record<string, AudioFormat> = {
  "audio/flac": "flac",
  "audio/x-flac": "flac",
  "audio/mp4": "m4a",
  "audio/m4a": "m4a",
  "audio/x-m4a": "m4a",
  "video/mp4": "mp4",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/mpeg3": "mp3",
  "audio/x-mpeg-3": "mp3",
  "audio/x-mp3": "mp3",
  "audio/mpga": "mpga",
  "video/mpeg": "mpeg",
  "audio/ogg": "ogg",
  "application/ogg": "ogg",
  "audio/opus": "ogg",
  "audio/vorbis": "ogg",
  "audio/wav": "wav",
  "audio/wave": "wav",
  "audio/x-wav": "wav",
  "audio/vnd.wave": "wav",
  "audio/x-pn-wav": "wav",
  "audio/webm": "webm",
  "video/webm": "webm",
};

const ascii = (b: Uint8Array, at: number, s: string) => {
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return b.length >= at + s.length;
};

/** an ID3v2 tag's length (header included): the syncsafe size in bytes 6–9, plus 10 */
const id3Length = (b: Uint8Array) => 10 + (((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f));

/** the audio format by its magic bytes, when they are one of the accepted formats' */
export function sniffAudio(b: Uint8Array): AudioFormat | undefined {
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WAVE")) return "wav";
  if (ascii(b, 0, "fLaC")) return "flac";
  if (ascii(b, 0, "OggS")) return "ogg";
  // EBML: WebM (and Matroska, which Google takes under the same type)
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "webm";
  if (ascii(b, 4, "ftyp")) return ascii(b, 8, "M4A") || ascii(b, 8, "M4B") ? "m4a" : "mp4";
  if (ascii(b, 0, "ID3")) {
    // an ID3 tag usually starts an MP3, but FLAC files may carry one too
    const end = b.length >= 10 ? id3Length(b) : 0;
    return ascii(b, end, "fLaC") ? "flac" : "mp3";
  }
  // an MPEG audio frame: 11 sync bits, then layer I–III (0xFFFB, 0xFFF3, 0xFFFA …; 0xFFF1 is AAC, not taken)
  if (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0) return "mp3";
  return undefined;
}

/** "talk.final.WAV" → "wav"; "" when the name has no extension */
export function extensionOf(name: string | undefined): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(name?.trim() ?? "");
  return m ? m[1]!.toLowerCase() : "";
}

const isFormat = (s: string): s is AudioFormat => (AUDIO_FORMATS as readonly string[]).includes(s);

export interface AudioFile {
  name?: string;
  /** the part's declared content type */
  type?: string;
  bytes: Uint8Array;
}

export interface AudioType {
  format: AudioFormat;
  mimeType: string;
}

/**
 * What the file really is: its magic bytes when they say, else its declared content type, else its
 * name's extension. A file none of these place among the accepted formats is a 400 naming what it is.
 */
export function audioTypeOf(file: AudioFile): AudioType {
  const found = (format: AudioFormat): AudioType => ({ format, mimeType: MIME[format] });
  const sniffed = sniffAudio(file.bytes);
  if (sniffed) return found(sniffed);
  const image = sniffImageType(file.bytes);
  const accepted = `use one of ${AUDIO_FORMATS.join(", ")}`;
  if (image) throw badRequest(`file is an image (${image}), not audio; ${accepted}`, "file");
  const declared = file.type?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (DECLARED[declared]) return found(DECLARED[declared]);
  const ext = extensionOf(file.name);
  if (isFormat(ext)) return found(ext);
  const what = ext || (declared && declared !== "application/octet-stream" ? declared : "") || "unknown";
  const named = file.name ? ` "${file.name}"` : "";
  throw badRequest(`file${named} has the format "${what}", which is not supported; ${accepted}`, "file");
}

/** a WAV file's length in seconds from its header (byte rate and data size); undefined when not a WAV */
export function wavDuration(b: Uint8Array): number | undefined {
  if (!(ascii(b, 0, "RIFF") && ascii(b, 8, "WAVE"))) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let byteRate = 0;
  for (let at = 12; at + 8 <= b.length;) {
    const size = view.getUint32(at + 4, true);
    if (ascii(b, at, "fmt ") && at + 20 <= b.length) byteRate = view.getUint32(at + 16, true);
    if (ascii(b, at, "data")) return byteRate > 0 ? Math.min(size, b.length - at - 8) / byteRate : undefined;
    at += 8 + size + (size & 1);
  }
  return undefined;
}

// ── the form fields ─────────────────────────────────────────────────────────────────────────────

export const RESPONSE_FORMATS = ["json", "text", "srt", "verbose_json", "vtt"] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

/** response_format as sent (absent → json); anything else is a 400 listing the accepted ones */
export function responseFormatOf(v: string | undefined): ResponseFormat {
  const f = v?.trim().toLowerCase() || "json";
  if ((RESPONSE_FORMATS as readonly string[]).includes(f)) return f as ResponseFormat;
  throw badRequest(`response_format "${v}" is not supported; use one of ${RESPONSE_FORMATS.join(", ")}`, "response_format");
}

/** temperature from 0 to 1 (a form field is text); absent → undefined (the model's default) */
export function temperatureOf(v: string | number | undefined): number | undefined {
  if (v === undefined || (typeof v === "string" && !v.trim())) return undefined;
  const n = typeof v === "number" ? v : Number(v.trim());
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw badRequest(`temperature must be a number from 0 to 1, got ${JSON.stringify(v)}`, "temperature");
  return n;
}

/** language as an ISO-639-1 code ("en", also "pt-BR"); absent → undefined; anything else a 400 */
export function languageOf(v: string | undefined): string | undefined {
  const s = v?.trim();
  if (!s) return undefined;
  if (!/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$/.test(s))
    throw badRequest(`language must be an ISO-639-1 code such as "en" or "de", got ${JSON.stringify(v)}`, "language");
  return s.replace("_", "-").toLowerCase();
}

/** "en" → "english" (OpenAI's verbose_json names languages this way); the code itself when unknown */
export function languageName(code: string): string {
  try {
    const name = new Intl.DisplayNames(["en"], { type: "language" }).of(code);
    if (name && name.toLowerCase() !== code.toLowerCase()) return name.toLowerCase();
  } catch {
    // not a well-formed tag: keep it as given
  }
  return code.toLowerCase();
}

/** OpenAI's transcription model names (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe and dated variants) */
const OPENAI_TRANSCRIBE = /^(whisper-|gpt-[\w.-]*transcribe)/i;

/** the model to resolve: OpenAI's transcription names mean the configured one, any other name itself */
export const transcriptionModelFor = (requested: string, configured: string): string =>
  OPENAI_TRANSCRIBE.test(requested.trim()) ? configured : requested.trim();

// ── the request ─────────────────────────────────────────────────────────────────────────────────

export const wantsTimestamps = (f: ResponseFormat) => f === "srt" || f === "vtt" || f === "verbose_json";

export interface TranscriptionOptions {
  /** the response_format asked for: srt, vtt and verbose_json need times */
  format: ResponseFormat;
  /** ISO-639-1 code of the speech, when the client says */
  language?: string;
  /** the client's context: earlier transcript, names and terms to spell right */
  prompt?: string;
  temperature?: number;
}

/**
 * The instruction that goes with the audio. Timestamped answers are lines "[MM:SS.mmm --> MM:SS.mmm] text"
 * (parseTranscript reads them, and SRT-like answers too); verbose_json without a language also asks for
 * a first line "language: xx".
 */
export function transcriptionInstruction(o: TranscriptionOptions): string {
  const timed = wantsTimestamps(o.format);
  const out = [
    timed
      ? "Transcribe the speech in this audio verbatim, word for word, with timestamps, in the language it is spoken (do not translate)."
      : "Transcribe the speech in this audio verbatim, word for word, in the language it is spoken (do not translate).",
  ];
  if (o.language) {
    const name = languageName(o.language);
    out.push(
      `The speech is in ${name === o.language ? `the language "${o.language}"` : name[0]!.toUpperCase() + name.slice(1)} (ISO-639-1 code "${o.language}").`,
    );
  }
  if (o.prompt?.trim())
    out.push(
      "Context from the user follows between the markers. It may be the transcript of the audio before this one; " +
        "use it for the spelling of names and terms and for the style, and do not transcribe it or answer it.\n" +
        `<<<\n${o.prompt.trim()}\n>>>`,
    );
  if (timed) {
    out.push(
      "Split the transcript into segments of a sentence or a phrase, at most about 10 seconds each, and write one line per segment:\n" +
        "[MM:SS.mmm --> MM:SS.mmm] the words of the segment\n" +
        "with the segment's start and end time from the beginning of the audio (HH:MM:SS.mmm past one hour).",
    );
    if (o.format === "verbose_json" && !o.language)
      out.push('Before the segments write one line "language: xx" with the ISO-639-1 code of the spoken language.');
    out.push("Answer with these lines only: no introduction, no commentary, no markdown, no speaker labels.");
  } else {
    out.push("Answer with the transcript text only: no introduction, no commentary, no markdown, no speaker labels, no times.");
  }
  out.push("If the audio holds no speech, answer with nothing.");
  return out.join("\n\n");
}

/** the Gemini request: the audio first, then the instruction; temperature only when the client set one */
export function transcriptionRequest(audio: InlineData, o: TranscriptionOptions): GeminiRequest {
  const request: GeminiRequest = { contents: [{ role: "user", parts: [{ inlineData: audio }, { text: transcriptionInstruction(o) }] }] };
  if (o.temperature !== undefined) request.generationConfig = { temperature: o.temperature };
  return request;
}

// ── the answer ──────────────────────────────────────────────────────────────────────────────────

/** the answer's text (thoughts left out), trimmed, without a markdown fence around it */
export function answerText(resp: GeminiResponse): string {
  const text = (resp.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => typeof p.text === "string" && !p.thought)
    .map((p) => p.text)
    .join("")
    .trim();
  const fenced = /^```[\w-]*[ \t]*\n([\s\S]*?)\n?```$/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}

/** a refusal by the safety filters (a blocked prompt, or a filtered finish with nothing written), as a 400 */
export function refusalOf(resp: GeminiResponse, headers?: Record<string, string>): ApiError | undefined {
  const block = blockReason(resp);
  const finish = resp.candidates?.[0]?.finishReason;
  if (!block && !(isFiltered(finish) && !answerText(resp))) return undefined;
  return new ApiError(400, `the audio was refused by the upstream safety filter (${block ?? finish})`, {
    reason: "content_policy_violation",
    headers,
  });
}

export interface Segment {
  id: number;
  /** seconds from the start of the audio */
  start: number;
  end: number;
  text: string;
}

export interface Transcript {
  /** the language line of the answer ("language: de"), when it had one */
  language?: string;
  segments: Segment[];
}

const TS = String.raw`(?:\d{1,2}:)?\d{1,2}:\d{1,2}(?:[.,]\d{1,3})?`;
const ARROW = String.raw`(?:-->|->|–|—|-|to)`;
const TAIL = String.raw`\s*[:\-–—]?\s*(.*)$`;
/** "[00:01.000 --> 00:04.200] text", "00:00:01,000 --> 00:00:04,200" (SRT), "(0:01 - 0:04): text" */
const RANGE = new RegExp(String.raw`^[\[(]?\s*(${TS})\s*${ARROW}\s*(${TS})\s*[\])]?${TAIL}`);
/** "[00:01] text": a start only (brackets required: a bare "10:30 is late" is words) */
const START = new RegExp(String.raw`^[\[(]\s*(${TS})\s*[\])]${TAIL}`);
/** "language: de" before the segments (a code, or one word such as "German") */
const LANGUAGE = /^\W*language\s*:\W*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?|[A-Za-z]{4,20})\W*$/i;

/** "01:02:03.5" → 3723.5; "2:03,25" → 123.25 */
export function seconds(ts: string): number {
  const [clock, frac = ""] = ts.split(/[.,]/);
  const parts = clock!.split(":").map(Number);
  const whole = parts.reduce((acc, n) => acc * 60 + n, 0);
  return whole + (frac ? Number(frac.padEnd(3, "0")) / 1000 : 0);
}

interface Draft {
  start?: number;
  end?: number;
  text: string;
}

/**
 * Reads a timestamped answer into segments: one line per segment with a time range or a start time, text
 * lines after a time line belong to it (SRT's layout; its index lines and a WEBVTT header are skipped).
 * Missing times are filled from the neighbours and `duration`; an answer without any time is one segment.
 */
export function parseTranscript(text: string, duration?: number): Transcript {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const drafts: Draft[] = [];
  let language: string | undefined;
  const timeAt = (i: number) => {
    const l = lines[i];
    return l !== undefined && (RANGE.test(l) || START.test(l));
  };
  lines.forEach((line, i) => {
    if (!line || /^WEBVTT\b/.test(line) || /^```/.test(line)) return;
    const lang = drafts.length ? null : LANGUAGE.exec(line);
    if (lang) {
      language = lang[1]!.trim();
      return;
    }
    // an SRT index line: a bare number just before a time line
    if (/^\d+$/.test(line) && timeAt(i + 1)) return;
    const range = RANGE.exec(line);
    if (range) return void drafts.push({ start: seconds(range[1]!), end: seconds(range[2]!), text: range[3]!.trim() });
    const start = START.exec(line);
    if (start) return void drafts.push({ start: seconds(start[1]!), text: start[2]!.trim() });
    const last = drafts[drafts.length - 1];
    if (last) last.text = last.text ? `${last.text} ${line}` : line;
    else drafts.push({ text: line });
  });
  const kept = drafts.filter((d) => d.text);
  const segments = kept.map((d, i): Segment => {
    const prev = kept[i - 1];
    const start = d.start ?? prev?.end ?? prev?.start ?? 0;
    const next = kept.slice(i + 1).find((n) => n.start !== undefined)?.start;
    let end = d.end ?? next ?? duration ?? start;
    if (end < start) end = start;
    return { id: i, start: round3(start), end: round3(end), text: d.text };
  });
  return { language, segments };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** seconds → "HH:MM:SS,mmm" (SRT) or "HH:MM:SS.mmm" (WebVTT) */
export function clock(secs: number, sep: "," | "."): string {
  const ms = Math.max(0, Math.round(secs * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

export const toSrt = (segments: Segment[]): string =>
  segments.map((s, i) => `${i + 1}\n${clock(s.start, ",")} --> ${clock(s.end, ",")}\n${s.text}\n\n`).join("");

export const toVtt = (segments: Segment[]): string =>
  "WEBVTT\n\n" + segments.map((s) => `${clock(s.start, ".")} --> ${clock(s.end, ".")}\n${s.text}\n\n`).join("");

export interface Rendered {
  body: string;
  contentType: string;
}

export interface RenderContext {
  /** the language the client named (ISO-639-1) */
  language?: string;
  /** seconds, when the file says (WAV) */
  duration?: number;
  temperature?: number;
}

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** the upstream answer in the response_format asked for */
export function renderTranscription(format: ResponseFormat, resp: GeminiResponse, ctx: RenderContext = {}): Rendered {
  const text = answerText(resp);
  if (format === "text") return { body: text ? `${text}\n` : "", contentType: TEXT_TYPE };
  if (format === "json") {
    const body: Record<string, unknown> = { text };
    if (resp.usageMetadata) {
      const t = tokenCounts(resp.usageMetadata);
      body.usage = { type: "tokens", input_tokens: t.prompt, output_tokens: t.output, total_tokens: t.total };
    }
    return { body: JSON.stringify(body), contentType: JSON_TYPE };
  }
  const transcript = parseTranscript(text, ctx.duration);
  const segments = transcript.segments;
  if (format === "srt") return { body: toSrt(segments), contentType: TEXT_TYPE };
  if (format === "vtt") return { body: toVtt(segments), contentType: "text/vtt; charset=utf-8" };
  const duration = round3(ctx.duration ?? segments.reduce((m, s) => Math.max(m, s.end), 0));
  const language = ctx.language ?? transcript.language;
  const body = {
    task: "transcribe",
    language: language ? languageName(language) : "unknown",
    duration,
    text: segments.map((s) => s.text).join(" "),
    // Gemini gives no token ids or probabilities: those fields hold neutral values
    segments: segments.map((s) => ({
      id: s.id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: [] as number[],
      temperature: ctx.temperature ?? 0,
      avg_logprob: 0,
      compression_ratio: 1,
      no_speech_prob: 0,
    })),
    usage: { type: "duration", seconds: Math.ceil(duration) },
  };
  return { body: JSON.stringify(body), contentType: JSON_TYPE };
}
