import { z } from "zod";

/**
 * The one error envelope of the HTTP API: `{ error: { code, message, field? } }`. Every failure a
 * client can see is one of these codes; the status follows from the code (one table). Anything else
 * is an opaque 500 whose details go to the log only.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  /** A signed transaction that is not the one the server built for this order. */
  TRANSACTION_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  /** An `Authorization: Bearer` API key that is unknown or revoked. */
  INVALID_API_KEY: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** Nothing on the network matches the request right now; `details` carries the nearest alternatives. */
  NO_CAPACITY: 409,
  /** A reward claim with nothing owed: nothing posted for the wallet yet, or all of it already paid. */
  NOTHING_TO_CLAIM: 409,
  /** The order (quote, nonce) expired; ask for a new one. */
  EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorEnvelope = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]).describe("Machine-readable reason"),
    message: z.string().describe("What went wrong, for people"),
    field: z.string().optional().describe("The request field at fault (dotted path), when one is"),
    details: z.unknown().optional().describe("Machine-readable context (e.g. the nearest alternatives when nothing can be quoted)"),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** A failure meant for the client: its message is shown as is, so it must never carry internals. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toEnvelope(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}), ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const notFound = (what: string) => new ApiError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "you may not do this") => new ApiError("FORBIDDEN", message);

/** The first zod issue as a 422 naming its field (`gpuCount`, `regions.2`). */
export function validationError(error: z.ZodError, prefix?: string): ApiError {
  const issue = error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  const message = path ? `${path}: ${issue.message}` : issue.message;
  return new ApiError("VALIDATION", message, path || undefined);
}
