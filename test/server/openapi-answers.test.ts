// The answers /swagger/json documents are the answers the gateway gives: real successes and errors of
// each protocol, over the simulator, match the schemas the document names for them, and so do the
// document's own examples.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { ERROR_SCHEMAS, SUCCESS } from "../../src/server/doc-schemas";
import { startStack, type Stack } from "../helpers/stack";

let stack: Stack;
let doc: any;
beforeAll(async () => {
  stack = await startStack({ accounts: 1, delays: false });
  doc = await (await fetch(`${stack.url}/swagger/json`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json();
});
afterAll(() => stack.stop());

const M = "gemini-2.5-flash";
const text = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
/** [documented operation, request path, body (GET when absent)] */
const CALLS: [string, string, unknown?][] = [
  ["get /v1beta/models", "/v1beta/models"],
  ["get /v1beta/models/{model}", `/v1beta/models/${M}`],
  ["post /v1beta/models/{model}", `/v1beta/models/${M}:generateContent`, text],
  ["post /v1beta/models/{model}", `/v1beta/models/${M}:countTokens`, text],
  ["post /v1/models/{model}", `/v1/models/${M}:generateContent`, text],
  ["get /v1/models", "/v1/models"],
  ["get /v1/models/{model}", `/v1/models/${M}`],
  ["post /v1/chat/completions", "/v1/chat/completions", { model: M, messages: [{ role: "user", content: "hi" }] }],
  ["post /v1/images/generations", "/v1/images/generations", { model: "gemini-3.1-flash-image", prompt: "a cat" }],
  ["post /v1/responses", "/v1/responses", { model: M, input: "hi" }],
  ["post /v1/messages", "/v1/messages", { model: M, max_tokens: 50, messages: [{ role: "user", content: "hi" }] }],
  ["get /admin/accounts/export", "/admin/accounts/export"],
];

function call(path: string, body?: unknown) {
  const key = path.startsWith("/admin") ? stack.adminKey : stack.apiKey;
  return fetch(stack.url + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** the schemas (by component name) a documented answer may have */
function documented(op: string, code: string): string[] {
  const [method, path] = op.split(" ");
  let r = doc.paths[path!][method!].responses[code];
  if (r.$ref) r = doc.components.responses[r.$ref.split("/").pop()];
  const schema = r.content["application/json"].schema;
  return (schema.oneOf ?? [schema]).map((s: { $ref: string }) => s.$ref.split("/").pop());
}

const SCHEMAS = { ...ERROR_SCHEMAS, ...Object.fromEntries(Object.entries(SUCCESS).map(([k, v]) => [k, v.schema])) };
const fits = (names: string[], body: unknown) => names.some((n) => Value.Check(SCHEMAS[n]!, body));

test("real success answers match their documented schema", async () => {
  for (const [op, path, body] of CALLS) {
    const res = await call(path, body);
    expect(`${path} ${res.status}`).toBe(`${path} 200`);
    const answer = await res.json();
    expect({ op, fits: fits(documented(op, "200"), answer) }).toEqual({ op, fits: true });
  }
});

test("real errors of each protocol match the documented 4XX shape", async () => {
  const bad: [string, string, unknown][] = [
    ["post /v1/chat/completions", "/v1/chat/completions", { model: M }],
    ["post /v1/messages", "/v1/messages", { model: M }],
    ["post /v1beta/models/{model}", `/v1beta/models/${M}:generateContent`, {}],
    ["post /v1/models/{model}", `/v1/models/${M}:generateContent`, {}],
    ["post /admin/accounts", "/admin/accounts", {}],
  ];
  for (const [op, path, body] of bad) {
    const res = await call(path, body);
    expect(`${path} ${res.status}`).toBe(`${path} 400`);
    const answer = await res.json();
    const names = documented(op, "4XX");
    expect({ op, names, fits: fits(names, answer) }).toEqual({ op, names, fits: true });
  }
});

test("the document's examples match their own schemas", () => {
  for (const [name, s] of Object.entries(SUCCESS)) expect({ name, fits: Value.Check(s.schema, s.example) }).toEqual({ name, fits: true });
  for (const [name, r] of Object.entries<any>(doc.components.responses))
    for (const ex of Object.values<any>(r.content["application/json"].examples))
      expect({ name, fits: fits([name.replace(/[45]XX$/, "")], ex.value) }).toEqual({ name, fits: true });
});

test("every documented request body says its media type and schema (Swagger UI can then offer an editor)", () => {
  const empty: string[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths))
    for (const [method, op] of Object.entries<any>(item)) {
      const body = op?.requestBody;
      if (!body) continue;
      const media = Object.entries<any>(body.content ?? {});
      if (media.length === 0 || media.some(([, m]) => !m?.schema)) empty.push(`${method} ${path}`);
    }
  expect(empty).toEqual([]);
  // a multipart body names its fields, files as binary
  const edits = doc.paths["/v1/images/edits"].post.requestBody.content["multipart/form-data"].schema;
  expect(edits.properties.image.items).toMatchObject({ type: "string", format: "binary" });
  expect(doc.paths["/admin/keys"].post.requestBody.content["application/json"].schema.required).toEqual(["name"]);
  // an answer's limits are numbers (Elysia's own integer would say "or a string")
  const created = doc.paths["/admin/keys"].post.responses["201"].content["application/json"].schema;
  expect(created.properties.rpm).toEqual({ type: ["integer", "null"] });
});
