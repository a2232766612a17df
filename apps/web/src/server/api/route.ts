import "server-only";
import { randomUUID } from "node:crypto";
import type { NextRequest } from "next/server";
import type { z } from "zod";
import { env } from "../../env.ts";
import { sessionForApiKey } from "../auth/api-keys.ts";
import { currentSession, type Session } from "../auth/session.ts";
import { jsonResponse } from "../json.ts";
import { logger } from "../logger.ts";
import { ApiError, validationError } from "./errors.ts";
import { domainError } from "./domain-errors.ts";
import { limitRate, limitSubject, RateLimitedError } from "./rate-limit.ts";

/**
 * The one route wrapper. A route handler file reads like a sentence:
 *
 *   export const POST = route({ auth: "session", body: QuoteBody }, async ({ body, session }) => quote(session, body));
 *
 * It authenticates (public, session, or apiKey: a session cookie or `Authorization: Bearer gmk_…` acting as
 * the key's account), refuses cross-site state changes made with a cookie (Origin must be one of
 * WEB_ORIGINS; a bearer key is not sent by browsers on their own, so it cannot be forged cross-site),
 * limits the rate (per API key on keyed requests, per client address on public GETs of /api/v1), parses params, query and body with zod (422 naming the field), calls the handler,
 * serialises bigints as decimal strings, and maps every error to the envelope (errors.ts). Anything it
 * does not recognise is a 500 with a reference the log carries next to the details; the details never
 * reach the client.
 */
type Auth = "public" | "session" | "apiKey";

interface Spec<P, Q, B, A extends Auth> {
  auth: A;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Largest accepted body (bytes); 64 KiB by default. */
  maxBodyBytes?: number;
}

export interface RouteContext<P, Q, B, A extends Auth> {
  request: NextRequest;
  params: P;
  query: Q;
  body: B;
  session: A extends "public" ? Session | null : Session;
  /** The API key the request came with (auth "apiKey" only), else null: the request used the session cookie. */
  apiKeyId: string | null;
  log: typeof logger;
}

type NextContext = { params: Promise<Record<string, string | string[] | undefined>> };

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The body as JSON, read at most `limit` bytes far: a declared length over it is refused before
 * reading, and a chunked body (no length) is cut off as soon as it passes it, so a client cannot make
 * the server buffer more than the limit.
 */
async function readBody(request: NextRequest, limit: number): Promise<unknown> {
  const tooLarge = () => new ApiError("PAYLOAD_TOO_LARGE", `body: larger than ${limit} bytes`, "body");
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError("BAD_REQUEST", "body: not valid JSON", "body");
  }
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string | undefined): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

export function errorResponse(error: unknown, log: typeof logger): Response {
  const known = error instanceof ApiError ? error : domainError(error);
  if (known) {
    if (known.status >= 500) log.warn({ err: error }, "request failed: %s", known.code);
    const headers: Record<string, string> = known instanceof RateLimitedError ? { "retry-after": String(known.retryAfterS) } : {};
    // The refused body was not read to its end, so the connection cannot carry another request: say
    // so, or a keep-alive client sends its next request into a socket the server is about to reset.
    if (known.code === "PAYLOAD_TOO_LARGE") headers.connection = "close";
    return jsonResponse(known.toEnvelope(), { status: known.status, headers });
  }
  const ref = randomUUID();
  log.error({ err: error, ref }, "request failed");
  return jsonResponse(new ApiError("INTERNAL", `something went wrong on our side (reference ${ref})`).toEnvelope(), { status: 500 });
}

export function route<P = undefined, Q = undefined, B = undefined, A extends Auth = Auth>(
  spec: Spec<P, Q, B, A>,
  handler: (context: RouteContext<P, Q, B, A>) => Promise<unknown>,
): (request: NextRequest, context: NextContext) => Promise<Response> {
  return async (request, context) => {
    const log = logger.child({ method: request.method, path: request.nextUrl.pathname });
    try {
      const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
      let session: Session | null;
      let apiKeyId: string | null = null;
      if (bearer !== undefined && spec.auth === "apiKey") {
        const keyed = await sessionForApiKey(bearer);
        await limitSubject(keyed.apiKeyId, "api-key", env.API_RATE_LIMIT_PER_KEY, 60);
        session = keyed;
        apiKeyId = keyed.apiKeyId;
      } else {
        if (bearer !== undefined && spec.auth === "session") throw new ApiError("FORBIDDEN", "API keys cannot be used for this operation; sign in with your wallet");
        if (UNSAFE.has(request.method)) {
          const origin = request.headers.get("origin");
          if (origin && !env.WEB_ORIGINS.includes(origin)) throw new ApiError("FORBIDDEN", "cross-site request refused");
        }
        if (spec.auth === "public" && request.method === "GET" && request.nextUrl.pathname.startsWith("/api/v1/")) await limitRate(request, "api-public", env.API_RATE_LIMIT_PER_IP, 60);
        session = await currentSession();
        if (spec.auth !== "public" && !session) throw new ApiError("UNAUTHENTICATED", "sign in with your wallet first");
      }
      const params = parse(spec.params, await context.params, undefined);
      const query = parse(spec.query, Object.fromEntries(request.nextUrl.searchParams), undefined);
      const body = spec.body ? parse(spec.body, await readBody(request, spec.maxBodyBytes ?? 64 * 1024), undefined) : (undefined as B);
      const result = await handler({ request, params, query, body, session: session as RouteContext<P, Q, B, A>["session"], apiKeyId, log: session ? log.child({ account: session.accountId }) : log });
      return result instanceof Response ? result : jsonResponse(result ?? { ok: true });
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

/** A 201 with the created resource. */
export const created = (value: unknown) => jsonResponse(value, { status: 201 });
