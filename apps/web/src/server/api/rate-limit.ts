import "server-only";
import { redis } from "../redis.ts";
import { ApiError } from "./errors.ts";

/**
 * A fixed-window limit per client address and bucket (Redis INCR + EXPIRE). The address comes from the
 * proxy's X-Forwarded-For when there is one: it can be forged, so this only slows abuse, it is not
 * authentication.
 */
export async function limitRate(request: Request, bucket: string, limit: number, windowS: number): Promise<void> {
  const client = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || request.headers.get("x-real-ip") || "local";
  const key = `rate:${bucket}:${client}:${Math.floor(Date.now() / 1000 / windowS)}`;
  const [[, count]] = (await redis.multi().incr(key).expire(key, windowS).exec()) as [[Error | null, number], [Error | null, number]];
  if (count > limit) throw new ApiError("RATE_LIMITED", `too many requests; try again in a minute`);
}
