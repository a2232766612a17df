import "server-only";
import { Redis } from "ioredis";
import { env } from "../env.ts";
import { logger } from "./logger.ts";

/**
 * One Redis connection per server process. Requests fail fast when Redis is down (one retry, a 2 s
 * command timeout) instead of hanging a page: the route wrapper turns that into a 503. The offline
 * queue stays on so the first commands after start wait for the connection instead of failing.
 */
const globalForRedis = globalThis as unknown as { gpumeshRedis?: Redis };
function connect(): Redis {
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2_000, connectTimeout: 3_000 });
  redis.on("error", (error) => logger.debug({ err: error }, "redis connection error"));
  return redis;
}
export const redis: Redis = globalForRedis.gpumeshRedis ?? connect();
globalForRedis.gpumeshRedis = redis;
