import "server-only";
import { createProducer, type Producer } from "@gpumesh/queue";
import { env } from "../env.ts";

/**
 * The web app enqueues (deploy a paid cluster, a renter's end request, an extension) and runs no
 * worker. The producer fails fast when Redis is down; every caller has already written the truth to
 * Postgres, and the scheduler's sweeps pick up what a lost enqueue left.
 */
const globalForQueue = globalThis as unknown as { gpumeshProducer?: Producer };
export function producer(): Producer {
  globalForQueue.gpumeshProducer ??= createProducer(env.REDIS_URL);
  return globalForQueue.gpumeshProducer;
}
