// GET /v1/models for the Anthropic SDK (anthropic-version header): Anthropic's paged list shape,
// so `client.models.list()` / `retrieve()` work; the OpenAI shape is unchanged without the header.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startStack, type Stack } from "../helpers/stack";
import { anthropicPage, type AnthropicModel } from "../../src/anthropic/models";

let st: Stack;
let client: Anthropic;
beforeAll(async () => {
  st = await startStack({ accounts: 1, delays: false });
  client = new Anthropic({ apiKey: st.apiKey, baseURL: st.url, maxRetries: 0 });
});
afterAll(() => st.stop());

describe("with the Anthropic SDK", () => {
  test("models.list() pages through every model", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list({ limit: 5 })) {
      expect(m.type).toBe("model");
      expect(typeof m.display_name).toBe("string");
      expect(Number.isNaN(Date.parse(m.created_at))).toBe(false);
      ids.push(m.id);
    }
    const openai = (await (await fetch(st.url + "/v1/models", { headers: { authorization: `Bearer ${st.apiKey}` } })).json()) as {
      data: { id: string }[];
    };
    expect(ids).toEqual(openai.data.map((m) => m.id));
    expect(ids).toContain("claude-sonnet-4-6");
  });

  test("one page has Anthropic's fields", async () => {
    const r = await fetch(st.url + "/v1/models", { headers: { "x-api-key": st.apiKey, "anthropic-version": "2023-06-01" } });
    const page = (await r.json()) as Record<string, unknown> & { data: AnthropicModel[] };
    expect(Object.keys(page).sort()).toEqual(["data", "first_id", "has_more", "last_id"]);
    expect(page.first_id).toBe(page.data[0]!.id);
    expect(page.last_id).toBe(page.data.at(-1)!.id);
    expect(page.data.find((m) => m.id === "claude-sonnet-4-6")).toEqual({
      type: "model",
      id: "claude-sonnet-4-6",
      display_name: "Claude Sonnet 4.6",
      created_at: "2025-01-01T00:00:00.000Z",
    });
  });

  test("models.retrieve() gives one item; an unknown id is NotFoundError", async () => {
    const m = await client.models.retrieve("claude-opus-4-6-thinking");
    expect(m).toMatchObject({ type: "model", id: "claude-opus-4-6-thinking", display_name: "Claude Opus 4.6 (Thinking)" });
    const err = await client.models.retrieve("no-such-model").catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  });
});

describe("anthropicPage", () => {
  const all = ["a", "b", "c", "d", "e"].map((id) => ({ type: "model" as const, id, display_name: id, created_at: "x" }));
  test.each([
    // [query, ids, has_more]
    [{}, ["a", "b", "c", "d", "e"], false],
    [{ limit: "2" }, ["a", "b"], true],
    [{ limit: "2", after_id: "b" }, ["c", "d"], true],
    [{ limit: "2", after_id: "d" }, ["e"], false],
    [{ after_id: "e" }, [], false],
    [{ after_id: "unknown" }, [], false],
    [{ limit: "2", before_id: "e" }, ["c", "d"], true],
    [{ limit: "2", before_id: "c" }, ["a", "b"], false],
    [{ limit: "0" }, ["a", "b", "c", "d", "e"], false], // invalid limit → the default (20)
  ] as [Record<string, string>, string[], boolean][])("%j", (q, ids, more) => {
    const p = anthropicPage(all, q);
    expect(p.data.map((m) => m.id)).toEqual(ids);
    expect(p.has_more).toBe(more);
    expect(p.first_id).toBe(ids[0] ?? null);
    expect(p.last_id).toBe(ids.at(-1) ?? null);
  });
});

test("without anthropic-version the OpenAI shape is unchanged", async () => {
  const r = await fetch(st.url + "/v1/models", { headers: { authorization: `Bearer ${st.apiKey}` } });
  const j = (await r.json()) as { object: string; data: { object: string }[] };
  expect(j.object).toBe("list");
  expect(j.data[0]!.object).toBe("model");
});
