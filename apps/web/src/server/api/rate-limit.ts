import "server-only";
import { logger } from "../logger.ts";
import { redis } from "../redis.ts";
import { ApiError } from "./errors.ts";

/** A 429 that tells the client when to come back (the wrapper sends it as `Retry-After`, seconds). */
export class RateLimitedError extends ApiError {
  constructor(readonly retryAfterS: number) {
    super("RATE_LIMITED", `too many requests; try again in ${retryAfterS} s`, undefined, { retryAfterSeconds: retryAfterS });
    this.name = "RateLimitedError";
  }
}

/**
 * The client's address: the proxy's X-Forwarded-For when there is one. It can be forged, so a limit
 * keyed on it only slows abuse, it is not authentication.
 */
export const clientAddress = (request: Request): string => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || request.headers.get("x-real-ip") || "local";

/**
 * A fixed window per `subject` and bucket (Redis INCR + EXPIRE, one round trip). Throws
 * RateLimitedError with the seconds left in the window once `limit` is passed.
 */
export async function limitSubject(subject: string, bucket: string, limit: number, windowS: number, now = Date.now()): Promise<void> {
  const window = Math.floor(now / 1000 / windowS);
  const key = `rate:${bucket}:${subject}:${window}`;
  let count: number;
  try {
    [[, count]] = (await redis.multi().incr(key).expire(key, windowS).exec()) as [[Error | null, number], [Error | null, number]];
  } catch (error) {
    // Fail open: a limit protects the service, it does not authorise anything, so Redis being slow or
    // down must not take every read of the API down with it.
    logger.warn({ err: error, bucket }, "rate limit not checked: Redis unavailable");
    return;
  }
  if (count > limit) throw new RateLimitedError(Math.max(1, Math.ceil((window + 1) * windowS - now / 1000)));
}

/** A fixed-window limit per client address and bucket. */
export async function limitRate(request: Request, bucket: string, limit: number, windowS: number): Promise<void> {
  await limitSubject(clientAddress(request), bucket, limit, windowS);
}
