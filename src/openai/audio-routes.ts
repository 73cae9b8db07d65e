// POST /v1/audio/transcriptions: OpenAI's transcription API on a Gemini model. The audio goes upstream
// inline with an instruction asking for a verbatim transcript; ./audio.ts maps the fields, the request
// and the answer in each response_format.
import { Elysia, t } from "elysia";
import { isClaudeModel, isImageModel } from "../models/catalog";
import type { AppContext } from "../protocol/context";
import { servedHeaders } from "../protocol/reply";
import { ApiError, badRequest } from "../core/errors";
import {
  AUDIO_FORMATS,
  MAX_AUDIO_BYTES,
  RESPONSE_FORMATS,
  audioTypeOf,
  languageOf,
  refusalOf,
  renderTranscription,
  responseFormatOf,
  temperatureOf,
  transcriptionModelFor,
  transcriptionRequest,
  wavDuration,
} from "./audio";

const TranscriptionRequest = t.Object(
  {
    // optional here so that a missing file or model is a 400 that says what to send (checked by the handler)
    file: t.Optional(t.File({ description: `required: the audio (${AUDIO_FORMATS.join(", ")}), at most ${MAX_AUDIO_BYTES} bytes` })),
    model: t.Optional(
      t.String({
        description:
          "required: whisper-1, gpt-4o-transcribe and gpt-4o-mini-transcribe mean openai.transcriptionModel; other names resolve as on every route",
      }),
    ),
    language: t.Optional(t.String({ description: "ISO-639-1 code of the speech (en, de …): a hint for the model" })),
    prompt: t.Optional(t.String({ description: "context: the previous transcript, names and terms to spell right" })),
    response_format: t.Optional(t.String({ description: `${RESPONSE_FORMATS.join(", ")} (default json)` })),
    // a form field is text: checked by the handler, which names the field
    temperature: t.Optional(t.String({ description: "0 to 1; absent: the model's default" })),
    stream: t.Optional(t.String({ description: "not supported: leave it out or false" })),
  },
  {
    additionalProperties: true,
    description: "multipart/form-data; timestamp_granularities[], include[] and chunking_strategy are accepted and ignored (segments only)",
  },
);

export interface TranscriptionBody {
  file?: unknown;
  model?: string;
  language?: string;
  prompt?: string;
  response_format?: string;
  temperature?: string;
  stream?: string;
}

const MIB = 1024 * 1024;

export async function handleTranscription(ctx: AppContext, body: TranscriptionBody, signal: AbortSignal): Promise<Response> {
  const file = body.file;
  if (!(file instanceof Blob))
    throw badRequest(`file is required: the audio to transcribe, sent as the multipart field file (${AUDIO_FORMATS.join(", ")})`, "file");
  const requested = typeof body.model === "string" ? body.model.trim() : "";
  if (!requested) throw badRequest("model is required: whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe or a Gemini model", "model");
  const format = responseFormatOf(body.response_format);
  const temperature = temperatureOf(body.temperature);
  const language = languageOf(body.language);
  if (/^(true|1)$/i.test(body.stream?.trim() ?? ""))
    throw badRequest("stream is not supported on /v1/audio/transcriptions; leave it out for one answer", "stream");
  if (file.size === 0) throw badRequest("file is empty", "file");
  if (file.size > MAX_AUDIO_BYTES)
    throw new ApiError(
      413,
      `file is ${file.size} bytes; the limit is ${MAX_AUDIO_BYTES} bytes (${MAX_AUDIO_BYTES / MIB} MiB) of audio, which goes upstream inline`,
      { param: "file", reason: "payload_too_large" },
    );
  const bytes = new Uint8Array(await file.arrayBuffer());
  const audio = audioTypeOf({ name: (file as File).name, type: file.type, bytes });

  const model = transcriptionModelFor(requested, ctx.config.openai.transcriptionModel);
  const upstream = ctx.catalog.resolve(model).model;
  if (isImageModel(upstream) || isClaudeModel(upstream)) {
    const via = upstream === requested ? "" : ` (mapped to "${upstream}")`;
    throw badRequest(
      `model "${requested}"${via} does not take audio; use whisper-1 (${ctx.config.openai.transcriptionModel}) or a Gemini text model`,
      "model",
    );
  }
  const request = transcriptionRequest(
    { mimeType: audio.mimeType, data: Buffer.from(bytes).toString("base64") },
    { format, language, prompt: body.prompt, temperature },
  );
  const r = await ctx.gateway.generate({ model: requested, upstreamModel: upstream, request, signal });
  const headers = servedHeaders(r);
  const refused = refusalOf(r.response, headers);
  if (refused) throw refused;
  const out = renderTranscription(format, r.response, { language, duration: wavDuration(bytes), temperature });
  return new Response(out.body, { headers: { ...headers, "content-type": out.contentType } });
}

export function audioRoutes(ctx: AppContext) {
  return new Elysia({ name: "openai-audio" }).post(
    "/v1/audio/transcriptions",
    ({ body, request }) => handleTranscription(ctx, body as TranscriptionBody, request.signal),
    {
      parse: "formdata",
      body: TranscriptionRequest,
      detail: {
        tags: ["OpenAI"],
        summary: "Transcribe audio",
        description:
          "OpenAI audio transcriptions on a Gemini model. Multipart: file (flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm; " +
          `at most ${MAX_AUDIO_BYTES / MIB} MiB, sent upstream inline), model (whisper-1, gpt-4o-transcribe and gpt-4o-mini-transcribe ` +
          "mean openai.transcriptionModel), language, prompt, temperature, response_format: json (default) → {text, usage}, " +
          "text, srt, vtt, verbose_json → {task, language, duration, text, segments}. " +
          "Headers X-Account-Email and X-Mapped-Model name the account and upstream model.",
      },
    },
  );
}
