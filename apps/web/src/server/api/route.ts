import "server-only";
import { randomUUID } from "node:crypto";
import type { NextRequest } from "next/server";
import type { z } from "zod";
import { env } from "../../env.ts";
import { currentSession, type Session } from "../auth/session.ts";
import { jsonResponse } from "../json.ts";
import { logger } from "../logger.ts";
import { ApiError, validationError } from "./errors.ts";
import { domainError } from "./domain-errors.ts";

/**
 * The one route wrapper. A route handler file reads like a sentence:
 *
 *   export const POST = route({ auth: "session", body: QuoteBody }, async ({ body, session }) => quote(session, body));
 *
 * It authenticates (public or session), refuses cross-site state changes (Origin must be one of
 * WEB_ORIGINS), parses params, query and body with zod (422 naming the field), calls the handler,
 * serialises bigints as decimal strings, and maps every error to the envelope (errors.ts). Anything it
 * does not recognise is a 500 with a reference the log carries next to the details; the details never
 * reach the client.
 */
type Auth = "public" | "session";

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
  session: A extends "session" ? Session : Session | null;
  log: typeof logger;
}

type NextContext = { params: Promise<Record<string, string | string[] | undefined>> };

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

async function readBody(request: NextRequest, limit: number): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit) throw new ApiError("PAYLOAD_TOO_LARGE", `body: larger than ${limit} bytes`, "body");
  const text = await request.text();
  if (Buffer.byteLength(text) > limit) throw new ApiError("PAYLOAD_TOO_LARGE", `body: larger than ${limit} bytes`, "body");
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
    return jsonResponse(known.toEnvelope(), { status: known.status });
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
      if (UNSAFE.has(request.method)) {
        const origin = request.headers.get("origin");
        if (origin && !env.WEB_ORIGINS.includes(origin)) throw new ApiError("FORBIDDEN", "cross-site request refused");
      }
      const session = await currentSession();
      if (spec.auth === "session" && !session) throw new ApiError("UNAUTHENTICATED", "sign in with your wallet first");
      const params = parse(spec.params, await context.params, undefined);
      const query = parse(spec.query, Object.fromEntries(request.nextUrl.searchParams), undefined);
      const body = spec.body ? parse(spec.body, await readBody(request, spec.maxBodyBytes ?? 64 * 1024), undefined) : (undefined as B);
      const result = await handler({ request, params, query, body, session: session as RouteContext<P, Q, B, A>["session"], log: session ? log.child({ account: session.accountId }) : log });
      return result instanceof Response ? result : jsonResponse(result ?? { ok: true });
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

/** A 201 with the created resource. */
export const created = (value: unknown) => jsonResponse(value, { status: 201 });
