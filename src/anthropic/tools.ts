// Anthropic tools and tool_choice → Gemini functionDeclarations and toolConfig (pure).
import { badRequest } from "../core/errors";
import { upstreamToolName } from "../protocol/function-calls";
import { cleanSchema } from "../upstream/json-schema";
import type { AnyMessagesRequest } from "./schemas";

export function mapTools(body: AnyMessagesRequest): { tools?: Record<string, unknown>[]; names: Set<string> } {
  const names = new Set<string>();
  const decls: Record<string, unknown>[] = [];
  let search = false;
  (body.tools ?? []).forEach((tool, k) => {
    if (tool.type && tool.type !== "custom" && !tool.input_schema) {
      if (/^web_search/.test(tool.type)) search = true;
      else
        throw badRequest(
          `tools[${k}].type: server tool "${tool.type}" is not supported; declare it with an input_schema`,
          `tools[${k}].type`,
        );
      return;
    }
    if (names.has(tool.name)) throw badRequest(`tools[${k}].name: duplicate tool name "${tool.name}"`, `tools[${k}].name`);
    names.add(tool.name);
    const decl: Record<string, unknown> = {
      name: upstreamToolName(tool.name),
      parameters: cleanSchema(tool.input_schema ?? { type: "object", properties: {} }),
    };
    if (tool.description) decl.description = tool.description;
    decls.push(decl);
  });
  if (search && decls.length)
    throw badRequest("tools: web_search cannot be combined with other tools upstream; send it in a request of its own", "tools");
  if (decls.length) return { tools: [{ functionDeclarations: decls }], names };
  return { tools: search ? [{ googleSearch: {} }] : undefined, names };
}

export function mapToolChoice(body: AnyMessagesRequest, names: Set<string>): Record<string, unknown> | undefined {
  const choice = body.tool_choice;
  if (!choice || names.size === 0) return undefined;
  switch (choice.type) {
    case "auto":
      return { functionCallingConfig: { mode: "AUTO" } };
    case "none":
      return { functionCallingConfig: { mode: "NONE" } };
    case "any":
      return { functionCallingConfig: { mode: "ANY" } };
    case "tool":
      if (!choice.name) throw badRequest('tool_choice.name: required when type is "tool"', "tool_choice.name");
      if (!names.has(choice.name)) throw badRequest(`tool_choice.name: no tool named "${choice.name}" in tools`, "tool_choice.name");
      return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [upstreamToolName(choice.name)] } };
  }
}
