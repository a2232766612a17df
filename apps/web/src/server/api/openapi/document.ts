import { z } from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject, type ZodOpenApiResponsesObject } from "zod-openapi";
import { ERROR_STATUS, type ErrorCode } from "../errors.ts";
import { operations as allOperations, type Operation } from "./operations.ts";

/**
 * The OpenAPI 3.1 document, built from the operations table only (rows are added there, not here).
 * Error responses are grouped by status, each naming in its schema exactly the codes that status can
 * carry for that operation; `x-error-codes` lists them all for tools (the contract tests read it).
 */

/** Error codes the route wrapper itself answers for an operation, from its row. */
export function impliedErrors(op: Operation): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (op.params || op.query || op.body) codes.push("VALIDATION");
  if (op.body) codes.push("BAD_REQUEST", "PAYLOAD_TOO_LARGE");
  if (op.auth !== "public") codes.push("UNAUTHENTICATED");
  // A session-only operation refuses a bearer key (a key cannot mint keys); a cookie request from another origin is refused too.
  if (op.auth === "session" || (op.auth === "apiKey" && op.method !== "get")) codes.push("FORBIDDEN");
  if (op.auth === "apiKey") codes.push("INVALID_API_KEY", "RATE_LIMITED");
  if (op.auth === "public" && op.method === "get") codes.push("RATE_LIMITED");
  return codes;
}

/** Every error code an operation documents, in the table's order of statuses. */
export function errorCodesOf(op: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>([...impliedErrors(op), ...op.errors]);
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b] || a.localeCompare(b));
}

const REASONS: Partial<Record<number, string>> = {
  400: "Malformed request, or a signed transaction that differs from the order",
  401: "Not signed in, or an unknown or revoked API key",
  403: "Refused: a cross-site request, or an API key where only a signed-in session may act",
  404: "Not found (another account's resource is indistinguishable from none)",
  409: "Conflicts with the current state",
  410: "Expired: ask for a new one",
  413: "Body too large",
  422: "A field is invalid: `error.field` names it",
  429: "Too many requests: retry after `Retry-After` seconds",
};

function errorResponse(status: number, codes: ErrorCode[]) {
  const schema = z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]).describe("Machine-readable reason"),
      message: z.string().describe("What went wrong, for people"),
      field: z.string().optional().describe("The request field at fault (dotted path), when one is"),
      details: z.unknown().optional().describe("Machine-readable context, when there is some"),
    }),
  });
  return {
    description: `${REASONS[status] ?? "Error"} (${codes.join(", ")})`,
    ...(status === 429 ? { headers: z.object({ "retry-after": z.string().describe("Seconds to wait before retrying") }) } : {}),
    content: { "application/json": { schema } },
  };
}

const SECURITY: Record<Operation["auth"], Record<string, string[]>[]> = {
  public: [],
  session: [{ session: [] }],
  apiKey: [{ session: [] }, { apiKey: [] }],
};

function operationObject(op: Operation): ZodOpenApiOperationObject & { "x-error-codes": ErrorCode[]; "x-auth": Operation["auth"] } {
  const codes = errorCodesOf(op);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [String(op.status ?? 200)]: {
      description: op.stream ? "A stream of server-sent events" : "Success",
      content: { [op.stream ? "text/event-stream" : "application/json"]: { schema: op.response } },
    },
  };
  for (const [status, group] of byStatus) responses[String(status)] = errorResponse(status, group);
  return {
    operationId: op.id,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    security: SECURITY[op.auth],
    ...(op.params || op.query ? { requestParams: { ...(op.params ? { path: op.params } : {}), ...(op.query ? { query: op.query } : {}) } } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } } : {}),
    responses: responses as ZodOpenApiResponsesObject,
    "x-auth": op.auth,
    "x-error-codes": codes,
  };
}

export function buildOpenApiDocument(operations: readonly Operation[] = allOperations) {
  const paths: ZodOpenApiPathsObject = {};
  for (const op of [...operations].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "GPUMesh API",
      version: "1.0.0",
      description: [
        "The public REST API of GPUMesh, a decentralized GPU compute marketplace: the network, its markets and reward epochs (public), and your quotes, clusters, devices and API keys.",
        "",
        "Amounts are integer base units as decimal strings; times are ISO 8601 UTC. Every error is one envelope, `{ \"error\": { \"code\", \"message\", \"field\"? } }`; invalid input is 422 naming the field. Any operation may also answer 500 INTERNAL (with a reference to quote) or 503 UNAVAILABLE when a backing service is down.",
        "",
        "Authentication: public operations need none. `session` operations need a signed-in browser session (Sign-In With Solana). `apiKey` operations also accept `Authorization: Bearer <key>` with a key created in Settings; a key acts as its account, cannot manage keys, and has its own rate limit. Public GETs are limited per client address. A 429 carries `Retry-After` (seconds).",
        "",
        "Lists are paged with an opaque `cursor` (the previous page's `next_cursor`) and `limit` (1–100, default 20).",
      ].join("\n"),
    },
    tags: [
      { name: "Network", description: "The network at a glance" },
      { name: "Markets", description: "Free GPUs and prices" },
      { name: "Rewards", description: "Hourly MESH reward epochs" },
      { name: "Quotes", description: "Price a cluster and pay for it" },
      { name: "Clusters", description: "Your clusters" },
      { name: "Supply", description: "Your devices and on-chain supplier record" },
      { name: "API keys", description: "Keys for scripts (managed from a signed-in session only)" },
      { name: "Meta", description: "This document" },
    ],
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "gpumesh_session", description: "The session cookie set by Sign-In With Solana (`__Host-gpumesh_session` over https)" },
        apiKey: { type: "http", scheme: "bearer", description: "An API key (`gmk_…`) from Settings" },
      },
    },
    paths,
  });
}

/** The document as committed (apps/web/openapi.json): stable key order, two-space indent, final newline. */
export const openApiJson = (): string => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
