// /swagger: Swagger UI served from files embedded in the binary (no CDN), /swagger/json the OpenAPI
// document. @elysiajs/openapi is the maintained successor of @elysiajs/swagger.
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../version";
import { completeResponses } from "./doc-responses";

const ASSETS: Record<string, { path: string; type: string }> = {
  "swagger-ui-bundle.js": { path: bundlePath, type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { path: cssPath, type: "text/css; charset=utf-8" },
};

export const TAGS = [
  { name: "Gemini", description: "Google Gemini native API (`/v1beta`), as Google's SDKs and Gemini CLI call it" },
  { name: "OpenAI", description: "OpenAI-compatible chat, models and images" },
  { name: "Anthropic", description: "Anthropic Messages API, as the Anthropic SDK and Claude Code call it" },
  { name: "Admin", description: "Account and pool management; always needs the admin key" },
  { name: "Operations", description: "Health, metrics, docs" },
];

/** on every /swagger answer (src/server/app.ts): no other site may frame the page that holds a key */
export const DOCS_HEADERS: Record<string, string> = {
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function docs() {
  // the hook is local to this plugin: only the document's own route runs it
  return new Elysia({ name: "docs" })
    .onAfterHandle(({ path, response }) => {
      if (path === "/swagger/json" && response && typeof response === "object") completeResponses(response as never);
    })
    .get(
      "/swagger/assets/:file",
      ({ params, set }) => {
        const a = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined; // not __proto__, toString…
        if (!a) {
          set.status = 404;
          return { error: { message: `no asset ${params.file}`, code: "not_found" } };
        }
        return new Response(Bun.file(a.path), { headers: { "content-type": a.type, "cache-control": "public, max-age=86400" } });
      },
      { detail: { hide: true } },
    )
    .use(
      openapi({
        path: "/swagger",
        specPath: "/swagger/json",
        provider: "swagger-ui",
        swagger: {
          cdn: "/swagger/assets/swagger-ui-bundle.js",
          theme: "/swagger/assets/swagger-ui.css",
          autoDarkMode: false,
          validatorUrl: "none",
          // off: Swagger UI would keep the key in localStorage, readable by any script of this origin
          persistAuthorization: false,
        } as never,
        exclude: { paths: [/^\/swagger/] },
        documentation: {
          info: {
            title: "Switchyard",
            version: VERSION,
            description:
              "Local AI gateway: a pool of Google accounts behind the Gemini, OpenAI and Anthropic APIs. " +
              "Send your key as `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`.",
          },
          tags: TAGS,
          // relative: the document is served by the gateway it describes, wherever that listens
          servers: [{ url: "/", description: "this gateway" }],
          components: {
            securitySchemes: {
              bearer: { type: "http", scheme: "bearer", description: "Authorization: Bearer <key>" },
              xApiKey: { type: "apiKey", in: "header", name: "x-api-key" },
              googApiKey: { type: "apiKey", in: "header", name: "x-goog-api-key" },
              queryKey: { type: "apiKey", in: "query", name: "key" },
            },
          },
          security: [{ bearer: [] }, { xApiKey: [] }, { googApiKey: [] }, { queryKey: [] }],
        },
      }),
    );
}
