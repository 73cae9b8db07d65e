// The configuration schema (docs/contract.md §3). Every key has a default; unknown keys are rejected.
import { Type as T, type Static } from "@sinclair/typebox";
import { DEFAULT_USER_AGENT, DEFAULT_VERSION_URL } from "../upstream/identity";
import { DEFAULT_MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_REQUESTS } from "./files";

export const DEFAULT_ENDPOINTS = [
  "https://daily-cloudcode-pa.sandbox.googleapis.com",
  "https://daily-cloudcode-pa.googleapis.com",
  "https://cloudcode-pa.googleapis.com",
];

// The public "installed app" OAuth client of the reference product (not a secret: it ships in open-source clients).
export const DEFAULT_OAUTH_CLIENT_ID = "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com";
export const DEFAULT_OAUTH_CLIENT_SECRET = "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";

// the limit's bounds live with the files: the CLI's entry reads them before this schema is loaded
export { DEFAULT_MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_REQUESTS };

const strict = { additionalProperties: false } as const;

// Every duration has a ceiling: timers take at most 2^31-1 ms (~24.8 days) and fire after 1 ms beyond it.

export const ConfigSchema = T.Object(
  {
    server: T.Object(
      {
        host: T.String({ default: "127.0.0.1", minLength: 1 }),
        port: T.Integer({ default: 8045, minimum: 0, maximum: 65535 }),
        maxBodyBytes: T.Integer({ default: 100 * 1024 * 1024, minimum: 1024 }),
        shutdownGraceSeconds: T.Number({ default: 10, minimum: 0, maximum: 600 }),
        /** a stream quiet for this long gets a keep-alive (SSE comment, Anthropic ping) */
        keepAliveSeconds: T.Number({ default: 15, minimum: 0.05, maximum: 3600 }),
        /** a request body must arrive within this long (a stalled upload otherwise holds its connection) */
        bodyTimeoutSeconds: T.Number({ default: 60, minimum: 0.05, maximum: 3600 }),
        /** JSON bodies nesting deeper are refused before any parsing (a deep body is cheap to send, costly to read) */
        maxJsonDepth: T.Integer({ default: 128, minimum: 8, maximum: 10000 }),
        /** web origins allowed to call the gateway from a browser (besides its own); "*" = any */
        allowedOrigins: T.Array(T.String({ minLength: 1 }), { default: [] }),
        /** Host names the gateway answers to besides loopback names and the bind address; "*" = any */
        allowedHosts: T.Array(T.String({ minLength: 1 }), { default: [] }),
      },
      { ...strict, default: {} },
    ),
    auth: T.Object(
      {
        mode: T.Union([T.Literal("off"), T.Literal("strict"), T.Literal("all_except_health"), T.Literal("auto")], { default: "auto" }),
        apiKeys: T.Array(T.String({ minLength: 1 }), { default: [] }),
        adminKey: T.Optional(T.String({ minLength: 1 })),
      },
      { ...strict, default: {} },
    ),
    upstream: T.Object(
      {
        endpoints: T.Array(T.String({ pattern: "^https?://" }), { default: DEFAULT_ENDPOINTS, minItems: 1 }),
        oauthTokenUrl: T.String({ default: "https://oauth2.googleapis.com/token", pattern: "^https?://" }),
        userinfoUrl: T.String({ default: "https://www.googleapis.com/oauth2/v2/userinfo", pattern: "^https?://" }),
        /** deadline for one upstream call (a whole unary answer, or the gap between stream chunks) */
        requestTimeoutSeconds: T.Number({ default: 600, minimum: 1, maximum: 86400 }),
        /** User-Agent template: {version}, {os}, {arch} */
        userAgent: T.String({ default: DEFAULT_USER_AGENT, minLength: 1 }),
        /** a fixed client version: nothing is looked up */
        clientVersion: T.Optional(T.String({ pattern: "^\\d+\\.\\d+\\.\\d+$" })),
        /** where the current client version is discovered ({target}, {os}, {arch}); "" = no discovery */
        versionUrl: T.String({ default: DEFAULT_VERSION_URL, pattern: "^(https?://.*)?$" }),
        /** rewrite the Claude Agent SDK identity sentence to Claude Code's (Google answers the first with a fake 429) */
        rewriteAgentIdentity: T.Boolean({ default: true }),
        /**
         * v1internal calls in flight at once (a stream counts until its body ends); more wait in order.
         * `serve` also lifts Bun's own per-process fetch cap to fit (docs/upstream.md, "Concurrent upstream calls")
         */
        maxConcurrentRequests: T.Integer({ default: DEFAULT_MAX_CONCURRENT_REQUESTS, minimum: 1, maximum: MAX_CONCURRENT_REQUESTS }),
      },
      { ...strict, default: {} },
    ),
    oauth: T.Object(
      {
        clientId: T.String({ default: DEFAULT_OAUTH_CLIENT_ID }),
        clientSecret: T.String({ default: DEFAULT_OAUTH_CLIENT_SECRET }),
        authUrl: T.String({ default: "https://accounts.google.com/o/oauth2/v2/auth", pattern: "^https?://" }),
      },
      { ...strict, default: {} },
    ),
    log: T.Object(
      {
        level: T.Union([T.Literal("debug"), T.Literal("info"), T.Literal("warn"), T.Literal("error"), T.Literal("silent")], {
          default: "info",
        }),
        /** json: one JSON object per line (for log shippers); text: `time LEVEL msg key=value` (for people) */
        format: T.Union([T.Literal("json"), T.Literal("text")], { default: "json" }),
      },
      { ...strict, default: {} },
    ),
    pool: T.Object(
      {
        quotaRefreshMinutes: T.Number({ default: 10, minimum: 0, maximum: 10080 }),
        /**
         * refresh access tokens this long before they expire; tokens live 3600 s and the sweep adds up to
         * half of this by jitter, so 1800 still leaves a fresh token 15 minutes of use
         */
        tokenRefreshAheadSeconds: T.Number({ default: 300, minimum: 0, maximum: 1800 }),
        /** how often hot counters (last used, request counts) are written to the store */
        flushIntervalSeconds: T.Number({ default: 5, minimum: 0.1, maximum: 3600 }),
      },
      { ...strict, default: {} },
    ),
    scheduling: T.Object(
      {
        mode: T.Union([T.Literal("sticky"), T.Literal("round-robin"), T.Literal("quota-first")], { default: "sticky" }),
        sessionTtlMinutes: T.Number({ default: 60, minimum: 0, maximum: 10080 }),
        maxSessions: T.Integer({ default: 10000, minimum: 1 }),
        maxAttempts: T.Integer({ default: 3, minimum: 1, maximum: 10 }),
      },
      { ...strict, default: {} },
    ),
    models: T.Object(
      {
        /** client model name (exact or with `*` wildcards) → upstream model */
        aliases: T.Record(T.String(), T.String(), { default: {} }),
        /** "" = the image model Google lists (imageGenerationModelIds) */
        defaultImageModel: T.String({ default: "" }),
      },
      { ...strict, default: {} },
    ),
    state: T.Object(
      {
        /** share the pool's state between instances through Redis (redis:// or rediss://); unset = state.db only */
        redisUrl: T.Optional(T.String({ pattern: "^rediss?://" })),
        /** key prefix in Redis, so several pools can share one Redis */
        redisPrefix: T.String({ default: "switchyard:", minLength: 1 }),
      },
      { ...strict, default: {} },
    ),
    usage: T.Object(
      {
        /** one row per request is kept this long in state.db; hourly totals are kept for good */
        retentionDays: T.Number({ default: 30, minimum: 0, maximum: 36500 }),
      },
      { ...strict, default: {} },
    ),
    openai: T.Object(
      {
        fetchRemoteImages: T.Boolean({ default: false }),
        remoteImageMaxBytes: T.Integer({ default: 20 * 1024 * 1024, minimum: 1 }),
        remoteImageTimeoutMs: T.Integer({ default: 10000, minimum: 1, maximum: 600000 }),
        /** also fetch from loopback, private, link-local and ULA addresses (a trusted LAN); off: public only */
        remoteFetchPrivate: T.Boolean({ default: false }),
        /** the Gemini model behind OpenAI's transcription names (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe) */
        transcriptionModel: T.String({ default: "gemini-2.5-flash", minLength: 1 }),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);

export type Config = Static<typeof ConfigSchema>;
