import "server-only";
import { createProducer, createRequester, type Producer, type Requester } from "@gpumesh/queue";
import { env } from "../env.ts";

/**
 * The web app enqueues (deploy a paid cluster, a renter's end request, an extension) and runs no
 * worker. The producer fails fast when Redis is down; every caller has already written the truth to
 * Postgres, and the scheduler's sweeps pick up what a lost enqueue left.
 */
const globalForQueue = globalThis as unknown as { gpumeshProducer?: Producer; gpumeshRequester?: Requester };
export function producer(): Producer {
  globalForQueue.gpumeshProducer ??= createProducer(env.REDIS_URL);
  return globalForQueue.gpumeshProducer;
}

/**
 * Requests the web waits on, answered by the scheduler (the stake order: the settlement authority's
 * co-signature, whose key only the scheduler holds). Its own two connections (requests.ts).
 */
export function requester(): Requester {
  globalForQueue.gpumeshRequester ??= createRequester(env.REDIS_URL);
  return globalForQueue.gpumeshRequester;
}
