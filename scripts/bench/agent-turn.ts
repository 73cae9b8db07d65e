// A coding agent's turn in each protocol's shape, for the benchmark's tools (census.ts, env-ab.ts): the
// bench's own request is a few hundred bytes, an agent sends the whole conversation every turn.
/**
 * A coding agent's turn, as Claude Code sends them (about 270 KB): a long system prompt, 30 tools with
 * their schemas, and 60 turns of text, tool calls and tool results.
 */
export function agentTurn(model: string): string {
  const prose = (n: number) => "Read the file, change what the task asks, run the tests; keep the style. ".repeat(n);
  const tools = Array.from({ length: 30 }, (_, i) => ({
    name: `tool_${i}`,
    description: prose(12),
    input_schema: {
      type: "object",
      properties: {
        path: { type: "string", description: "the file" },
        pattern: { type: "string", description: prose(1) },
        limit: { type: "integer", minimum: 1 },
        options: { type: "object", properties: { recursive: { type: "boolean" } }, additionalProperties: false },
      },
      required: ["path"],
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  }));
  const messages: unknown[] = [{ role: "user", content: [{ type: "text", text: prose(40) }] }];
  for (let i = 0; i < 30; i++) {
    messages.push({
      role: "assistant",
      content: [
        { type: "text", text: prose(3) },
        { type: "tool_use", id: `toolu_${i}`, name: `tool_${i % 30}`, input: { path: `src/file${i}.ts`, limit: 40 } },
      ],
    });
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: prose(60) }] });
  }
  return JSON.stringify({ model, max_tokens: 8192, system: [{ type: "text", text: prose(250) }], tools, messages });
}

/** the same turn in OpenAI's chat shape (Kilo Code, Cherry Studio and most agents speak it) */
export function chatAgentTurn(model: string): string {
  const a = JSON.parse(agentTurn(model));
  const tools = a.tools.map((t: any) => ({
    type: "function",
    function: { name: t.name, description: t.description, parameters: t.input_schema },
  }));
  const messages: unknown[] = [{ role: "system", content: a.system[0].text }];
  for (const m of a.messages) {
    for (const b of m.content) {
      if (b.type === "text") messages.push({ role: m.role, content: b.text });
      else if (b.type === "tool_use")
        messages.push({
          role: "assistant",
          tool_calls: [{ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input) } }],
        });
      else if (b.type === "tool_result") messages.push({ role: "tool", tool_call_id: b.tool_use_id, content: b.content });
    }
  }
  return JSON.stringify({ model, max_tokens: 8192, tools, messages });
}

/** the same turn in the Responses API's shape (Codex CLI; `store` left to its default, true) */
export function responsesAgentTurn(model: string): string {
  const a = JSON.parse(agentTurn(model));
  const tools = a.tools.map((t: any) => ({ type: "function", name: t.name, description: t.description, parameters: t.input_schema }));
  const input: unknown[] = [];
  for (const m of a.messages)
    for (const b of m.content) {
      if (b.type === "text") input.push({ type: "message", role: m.role, content: b.text });
      else if (b.type === "tool_use")
        input.push({ type: "function_call", call_id: b.id, name: b.name, arguments: JSON.stringify(b.input) });
      else if (b.type === "tool_result") input.push({ type: "function_call_output", call_id: b.tool_use_id, output: b.content });
    }
  return JSON.stringify({ model, instructions: a.system[0].text, tools, input });
}

/** the same turn in Gemini's own shape (Gemini CLI) */
export function geminiAgentTurn(model: string): string {
  const a = JSON.parse(agentTurn(model));
  // the tools' JSON Schemas as Gemini CLI sends its MCP servers' schemas: as they are
  const functionDeclarations = a.tools.map((t: any) => ({
    name: t.name,
    description: t.description,
    parametersJsonSchema: t.input_schema,
  }));
  const contents: unknown[] = [];
  const names = new Map<string, string>();
  for (const m of a.messages) for (const b of m.content) if (b.type === "tool_use") names.set(b.id, b.name);
  for (const m of a.messages) {
    const parts = m.content.map((b: any) =>
      b.type === "text"
        ? { text: b.text }
        : b.type === "tool_use"
          ? { functionCall: { name: b.name, args: b.input } }
          : { functionResponse: { name: names.get(b.tool_use_id), response: { output: b.content } } },
    );
    contents.push({ role: m.role === "assistant" ? "model" : "user", parts });
  }
  return JSON.stringify({ systemInstruction: { parts: [{ text: a.system[0].text }] }, tools: [{ functionDeclarations }], contents });
}
