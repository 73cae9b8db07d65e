// A seeded generator of hostile requests over every route, and the error-shape check per route
// family (docs/contract.md §7). Used by test/server/fuzz.test.ts and scripts/fuzz.ts.

/** mulberry32: small, fast, and the same sequence for the same seed everywhere */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

export interface FuzzTarget {
  url: string;
  apiKey: string;
  adminKey: string;
}

export interface FuzzRequest {
  label: string;
  path: string;
  init: RequestInit;
}

const JSON_ROUTES = [
  "/v1/chat/completions",
  "/v1/messages",
  "/v1/messages/count_tokens",
  "/v1/images/generations",
  "/v1beta/models/gemini-2.5-flash:generateContent",
  "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
  "/v1beta/models/gemini-2.5-flash:countTokens",
  "/admin/accounts",
  "/admin/accounts/import",
  "/admin/oauth/complete",
];
const GET_ROUTES = [
  "/v1/models",
  "/v1/models/gemini-2.5-flash",
  "/v1beta/models",
  "/v1beta/models/x",
  "/admin/accounts",
  "/admin/pool",
  "/healthz",
  "/metrics",
  "/nope",
];
const WEIRD_MODELS = [
  "",
  " ",
  "\u0000",
  "gémini",
  "☃",
  "x".repeat(3000),
  "models/models/",
  "../../etc",
  "%2e%2e",
  "gemini-2.5-flash\r\nx: y",
  42,
  null,
  [],
  {},
];
const WEIRD_VALUES: unknown[] = [null, true, -1, 1e308, "", "x".repeat(10_000), [], {}, [[[]]], { a: { b: { c: {} } } }, "\ud800", NaN];
const WEIRD_SEGMENTS = [
  "%F0%9F%98%80:generateContent",
  "x%2500:generateContent",
  "%252e%252e:generateContent",
  "a/b:generateContent",
  ":generateContent",
  "gemini-2.5-flash:frobnicate",
  "%zz:generateContent",
];

function body(r: ReturnType<typeof rng>, path: string): string {
  switch (r.int(9)) {
    case 0:
      return "{".repeat(r.int(50)) + '"'; // malformed
    case 1:
      return "[".repeat(200 + r.int(20000)) + "]".repeat(r.int(50)); // deep
    case 2:
      return JSON.stringify(r.pick(WEIRD_VALUES)); // not an object
    case 3: // right shape, wrong types
      return JSON.stringify({
        model: r.pick(WEIRD_MODELS),
        messages: r.pick(WEIRD_VALUES),
        max_tokens: r.pick(WEIRD_VALUES),
        contents: r.pick(WEIRD_VALUES),
      });
    case 4: // plausible requests with one bad model name
      return path.includes("v1beta")
        ? JSON.stringify({
            contents: [{ role: "user", parts: [{ text: "fuzz" }] }],
            generationConfig: { maxOutputTokens: r.pick(WEIRD_VALUES) },
          })
        : JSON.stringify({ model: r.pick(WEIRD_MODELS), max_tokens: 16, messages: [{ role: "user", content: "fuzz" }] });
    case 5: // messages with hostile parts
      return JSON.stringify({
        model: "gemini-2.5-flash",
        max_tokens: 16,
        messages: [
          {
            role: r.pick(["user", "assistant", "system", "tool", "x", 1]),
            content: [
              {
                type: r.pick(["text", "image", "image_url", "tool_result", "x"]),
                text: r.pick(WEIRD_VALUES),
                source: r.pick(WEIRD_VALUES),
                image_url: r.pick(WEIRD_VALUES),
              },
            ],
          },
        ],
        tools: r.pick([
          undefined,
          [],
          [{}],
          [{ name: "x", input_schema: r.pick(WEIRD_VALUES) }],
          [{ type: "function", function: { name: r.pick(WEIRD_MODELS), parameters: r.pick(WEIRD_VALUES) } }],
        ]),
      });
    case 6:
      return "\u0000\u0001\u0002" + "é".repeat(r.int(100));
    case 7:
      return "";
    default:
      return JSON.stringify({
        refreshToken: r.pick(WEIRD_VALUES),
        tokens: r.pick(WEIRD_VALUES),
        text: r.pick(WEIRD_VALUES),
        code: r.pick(WEIRD_VALUES),
        state: r.pick(WEIRD_VALUES),
        prompt: r.pick(WEIRD_VALUES),
        n: r.pick(WEIRD_VALUES),
      });
  }
}

function headers(r: ReturnType<typeof rng>, t: FuzzTarget, path: string): Record<string, string> {
  const h: Record<string, string> = {};
  const key = path.startsWith("/admin") ? t.adminKey : t.apiKey;
  switch (r.int(6)) {
    case 0:
      break; // no key
    case 1:
      h.authorization = "Bearer wrong";
      break;
    case 2:
      h["x-api-key"] = key;
      break;
    default:
      h.authorization = `Bearer ${key}`;
  }
  h["content-type"] = r.pick([
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/json; charset=utf-16",
    "nonsense",
  ]);
  if (r.int(4) === 0) h["anthropic-version"] = "2023-06-01";
  if (r.int(5) === 0) h["x-goog-api-client"] = "fuzz/1";
  if (r.int(6) === 0) h["x-request-id"] = r.pick(["ok-id", "bad id with spaces", "x".repeat(300)]);
  return h;
}

/** `count` requests from `seed`, lazily */
export function* fuzzRequests(seed: number, count: number, t: FuzzTarget): Generator<FuzzRequest> {
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    const kind = r.int(10);
    if (kind === 0) {
      const path = r.pick(GET_ROUTES);
      yield { label: `#${i} GET ${path}`, path, init: { method: "GET", headers: headers(r, t, path) } };
    } else if (kind === 1) {
      const path = `/v1beta/models/${r.pick(WEIRD_SEGMENTS)}`;
      yield { label: `#${i} POST ${path}`, path, init: { method: "POST", headers: headers(r, t, path), body: body(r, path) } };
    } else if (kind === 2) {
      const path = r.pick(["/v1/chat/completions", "/v1/messages", "/v1/models", "/v1beta/models/x:generateContent"]);
      const method = r.pick(["PUT", "DELETE", "PATCH", "OPTIONS"]);
      yield { label: `#${i} ${method} ${path}`, path, init: { method, headers: headers(r, t, path) } };
    } else {
      const path = r.pick(JSON_ROUTES);
      yield { label: `#${i} POST ${path}`, path, init: { method: "POST", headers: headers(r, t, path), body: body(r, path) } };
    }
  }
}

/** why an error body is not in its route family's shape (docs/contract.md §7), or undefined */
export function shapeProblem(path: string, text: string): string | undefined {
  let b: any;
  try {
    b = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 100)}`;
  }
  const str = (v: unknown) => typeof v === "string" && v.length > 0;
  if (path.startsWith("/v1beta/"))
    return b?.error && typeof b.error.code === "number" && str(b.error.message) && str(b.error.status)
      ? undefined
      : "not Google's error shape";
  if (path.startsWith("/v1/messages"))
    return b?.type === "error" && str(b.error?.type) && str(b.error?.message) ? undefined : "not Anthropic's error shape";
  if (path.startsWith("/v1/")) {
    // /v1/models answers Google and Anthropic clients in their own shapes
    if (b?.type === "error" && str(b.error?.message)) return undefined;
    if (b?.error && typeof b.error.code === "number" && str(b.error.message)) return undefined;
    return b?.error && str(b.error.message) && str(b.error.type) ? undefined : "not OpenAI's error shape";
  }
  return b?.error && str(b.error.message) ? undefined : "not the plain error shape";
}
