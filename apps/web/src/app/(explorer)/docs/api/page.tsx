import type { Metadata } from "next";
import type { ReactNode } from "react";
import { env } from "@/env.ts";
import { buildOpenApiDocument } from "@/server/api/openapi/document.ts";
import styles from "./docs.module.css";

export const metadata: Metadata = { title: "API reference" };

/* The API reference, rendered on the server from the same OpenAPI document /api/v1/openapi.json serves. */

type Json = Record<string, unknown>;
const doc = buildOpenApiDocument() as unknown as Json & { paths: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> }; tags?: { name: string; description?: string }[] };

const AUTH_TEXT: Record<string, string> = {
  public: "Public: no authentication",
  session: "Signed-in session only (API keys are refused)",
  apiKey: "Signed-in session or API key (Authorization: Bearer)",
};

/** A schema with its $ref followed (one level at a time). */
function resolve(schema: Json | undefined): Json {
  let current = schema ?? {};
  for (let i = 0; i < 10 && typeof current.$ref === "string"; i++) current = doc.components?.schemas?.[current.$ref.split("/").pop()!] ?? {};
  return current;
}

function typeOf(schema: Json): string {
  const s = resolve(schema);
  if (Array.isArray(s.enum)) return s.enum.length <= 8 ? `one of ${s.enum.map(String).join(", ")}` : `one of ${s.enum.length} values`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const variants = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (variants) return variants.map(typeOf).join(" or ");
  if (s.type === "array") return `array of ${typeOf((s.items as Json) ?? {})}`;
  const type = Array.isArray(s.type) ? s.type.join(" | ") : typeof s.type === "string" ? s.type : "any";
  const format = typeof s.format === "string" ? ` (${s.format})` : "";
  return `${type}${format}`;
}

/** The fields of an object schema as a nested list (three levels deep at most). */
function Fields({ schema, depth = 0 }: { schema: Json; depth?: number }): ReactNode {
  const s = resolve(schema);
  const object = s.type === "array" ? resolve(s.items as Json) : (((s.anyOf ?? s.oneOf) as Json[] | undefined)?.map(resolve).find((v) => v.type === "object") ?? s);
  const properties = object.properties as Record<string, Json> | undefined;
  if (!properties || depth > 2) return null;
  const required = new Set((object.required as string[] | undefined) ?? []);
  return (
    <ul className={styles.fields}>
      {Object.entries(properties).map(([name, field]) => {
        const resolved = resolve(field);
        return (
          <li key={name}>
            <span className={styles.name}>{name}</span> <span className={styles.type}>{typeOf(field)}{required.has(name) ? ", required" : ""}</span>
            {typeof resolved.description === "string" ? <> — {resolved.description}</> : null}
            <Fields schema={field} depth={depth + 1} />
          </li>
        );
      })}
    </ul>
  );
}

/** A small example value for a schema: its example, default or first choice, else one by type. */
function exampleOf(schema: Json, depth = 0): unknown {
  const s = resolve(schema);
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.const !== undefined) return s.const;
  const variants = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (variants?.[0]) return exampleOf(variants[0], depth);
  if (depth > 4) return null;
  switch (s.type) {
    case "object": {
      const out: Json = {};
      for (const name of (s.required as string[] | undefined) ?? []) out[name] = exampleOf((s.properties as Record<string, Json>)[name] ?? {}, depth + 1);
      return out;
    }
    case "array":
      return [exampleOf((s.items as Json) ?? {}, depth + 1)];
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? Math.max(s.minimum, 1) : 1;
    case "boolean":
      return false;
    case "string":
      return s.format === "uuid" ? "00000000-0000-4000-8000-000000000000" : s.format === "date-time" ? "2026-12-01T00:00:00.000Z" : "…";
    default:
      return null;
  }
}

function curlOf(method: string, path: string, operation: Json): string {
  const params = (operation.parameters as Json[] | undefined) ?? [];
  let url = path;
  for (const p of params.filter((p) => p.in === "path")) url = url.replace(`{${String(p.name)}}`, String(exampleOf((p.schema as Json) ?? {})));
  const lines = [`curl${method === "get" ? "" : ` -X ${method.toUpperCase()}`} '${env.WEB_ORIGINS[0]}${url}'`];
  if (operation["x-auth"] === "apiKey") lines.push(`-H "Authorization: Bearer $GPUMESH_API_KEY"`);
  if (operation["x-auth"] === "session") lines.push(`-H "Origin: ${env.WEB_ORIGINS[0]}" -b "gpumesh_session=$SESSION"`);
  const body = ((operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.["application/json"]?.schema as Json | undefined;
  if (body) lines.push(`-H 'content-type: application/json' -d '${JSON.stringify(exampleOf(body))}'`);
  return lines.join(" \\\n  ");
}

const anchor = (id: string) => `op-${id}`;

export default function ApiDocsPage() {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));
  const tags = (doc.tags ?? []).filter((tag) => operations.some((op) => (op.operation.tags as string[])[0] === tag.name));
  return (
    <>
      <h1>API reference</h1>
      <p className="subtitle">
        Version 1 of the GPUMesh REST API. The machine-readable document is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1). Amounts are integer base units as decimal strings; errors are one envelope, <code>{`{ "error": { "code", "message", "field"? } }`}</code>. API keys are created in <a href="/settings">Settings</a>.
      </p>
      <div className={styles.layout}>
        <nav className={styles.toc} aria-label="Operations">
          {tags.map((tag) => (
            <div key={tag.name}>
              <strong>{tag.name}</strong>
              <ul>
                {operations.filter((op) => (op.operation.tags as string[])[0] === tag.name).map(({ operation }) => (
                  <li key={String(operation.operationId)}><a href={`#${anchor(String(operation.operationId))}`}>{String(operation.summary)}</a></li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <div>
          {tags.map((tag) => (
            <section key={tag.name} aria-labelledby={`tag-${tag.name.replace(/\W/g, "")}`}>
              <h2 id={`tag-${tag.name.replace(/\W/g, "")}`}>{tag.name}</h2>
              {tag.description ? <p className="muted">{tag.description}</p> : null}
              {operations.filter((op) => (op.operation.tags as string[])[0] === tag.name).map(({ path, method, operation }) => {
                const id = String(operation.operationId);
                const params = (operation.parameters as Json[] | undefined) ?? [];
                const body = ((operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.["application/json"]?.schema as Json | undefined;
                const responses = Object.entries(operation.responses as Record<string, Json>);
                const success = responses.find(([status]) => status.startsWith("2"));
                const successSchema = success ? (Object.values((success[1].content as Record<string, Json>) ?? {})[0]?.schema as Json | undefined) : undefined;
                return (
                  <article key={id} id={anchor(id)} className={styles.operation} data-testid="api-operation">
                    <h3>
                      <span className={styles.method}>{method}</span> <span className={styles.path}>{path}</span>
                    </h3>
                    <p>{String(operation.summary)}{operation.description ? <> — {String(operation.description)}</> : null}</p>
                    <p className={styles.auth}>{AUTH_TEXT[String(operation["x-auth"])]}</p>
                    {params.length > 0 ? (
                      <div className={styles.section}>
                        <h4>Parameters</h4>
                        <ul className={styles.fields}>
                          {params.map((p) => (
                            <li key={`${String(p.in)}-${String(p.name)}`}>
                              <span className={styles.name}>{String(p.name)}</span> <span className={styles.type}>{String(p.in)}, {typeOf((p.schema as Json) ?? {})}{p.required ? ", required" : ""}</span>
                              {typeof p.description === "string" ? <> — {p.description}</> : null}
                            </li>
                          ))}
                        </ul>
                      </div>
                    ) : null}
                    {body ? (
                      <div className={styles.section}>
                        <h4>Request body (JSON)</h4>
                        <Fields schema={body} />
                      </div>
                    ) : null}
                    {success ? (
                      <div className={styles.section}>
                        <h4>Response {success[0]}{success[1].content && "text/event-stream" in (success[1].content as Json) ? " (server-sent events)" : ""}</h4>
                        {successSchema ? <Fields schema={successSchema} /> : null}
                      </div>
                    ) : null}
                    <div className={styles.section}>
                      <h4>Errors</h4>
                      <ul className={styles.codes} aria-label="Error codes">
                        {responses.filter(([status]) => !status.startsWith("2")).flatMap(([status, response]) => {
                          const codes = (((response.content as Record<string, Json>)["application/json"]?.schema as Json)?.properties as Record<string, Json>)?.error?.properties as Record<string, Json> | undefined;
                          return ((codes?.code?.enum as string[] | undefined) ?? []).map((code) => <li key={code}>{status} {code}</li>);
                        })}
                      </ul>
                    </div>
                    <div className={styles.section}>
                      <h4>Example</h4>
                      <pre className={styles.curl} tabIndex={0} aria-label={`curl example for ${String(operation.summary)}`}>{curlOf(method, path, operation)}</pre>
                    </div>
                  </article>
                );
              })}
            </section>
          ))}
        </div>
      </div>
    </>
  );
}
