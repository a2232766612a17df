import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { QUEUES } from "./names.ts";
import { DEFAULT_QUEUE_PREFIX } from "./options.ts";

/**
 * Request/response over BullMQ, for work only the scheduler can do and a web request waits for: the
 * web adds a job and awaits its return value (`waitUntilFinished`), the scheduler's worker answers.
 * Today one request: the stake order. `stake_device` must be co-signed by the settlement authority,
 * whose key only the scheduler holds; the web never does (DESIGN.md: the web app holds no key).
 *
 * Jobs are one attempt each (an order carries a fresh blockhash: a retry minutes later would hand out a
 * stale one; the client asks again instead), with random ids (every request is its own), and kept
 * only briefly once answered. Refusals are answers, not failures (`ok: false` with a code the web maps
 * to its HTTP status), so a worker's failure always means "the scheduler could not answer".
 */

export const StakeOrderRequest = z.object({
  deviceId: z.guid(),
  /** The signed-in wallet (base58) asking to stake; the scheduler checks the device is its supplier's. */
  wallet: z.string().min(32).max(44),
});
export type StakeOrderRequest = z.infer<typeof StakeOrderRequest>;

export const StakeOrderAnswer = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    /** The stake_device transaction (base64), fee payer = the wallet, signed by the settlement authority only. */
    transaction: z.string(),
    blockhash: z.string(),
    lastValidBlockHeight: z.number().int(),
    /** The weight the settlement authority attested (GPUs × the model's performance weight, bps). */
    weightBps: z.number().int().positive(),
    /** Base units of MESH the transaction stakes (the full required stake, or the top-up to it). */
    amount: z.string().regex(/^\d+$/),
    /** The device's required stake (base units). */
    required: z.string().regex(/^\d+$/),
    settlementAuthority: z.string(),
  }),
  z.object({
    ok: z.literal(false),
    /** NOT_FOUND: no such device of this wallet's supplier; CONFLICT: not stakeable now (the message says why). */
    code: z.enum(["NOT_FOUND", "CONFLICT"]),
    message: z.string(),
  }),
]);
export type StakeOrderAnswer = z.infer<typeof StakeOrderAnswer>;

export const REQUEST_JOB_OPTIONS = { attempts: 1, removeOnComplete: { age: 300 }, removeOnFail: { age: 24 * 3600 } } as const;

/** The scheduler did not answer in time (down, or busy): nothing was built. */
export class RequestTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestTimeoutError";
  }
}

export interface Requester {
  /** The scheduler's stake order for `wallet`'s device (co-signed stake_device), or its refusal. */
  stakeOrder(request: StakeOrderRequest): Promise<StakeOrderAnswer>;
  close(): Promise<void>;
}

/**
 * The asking side (the web app): two connections of its own, one that fails fast for adding jobs (as
 * the producer's) and one that the answers' event stream blocks on. Waits at most `timeoutMs`.
 */
export function createRequester(redisUrl: string, options: { prefix?: string; timeoutMs?: number } = {}): Requester {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const connection = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const blocking = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection.on("error", () => undefined);
  blocking.on("error", () => undefined);
  const queue = new Queue(QUEUES.requests, { connection, prefix });
  const events = new QueueEvents(QUEUES.requests, { connection: blocking, prefix });
  queue.on("error", () => undefined);
  events.on("error", () => undefined);
  const ready = Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    async stakeOrder(request) {
      // Bounded: with Redis down, the connections keep reconnecting and this would wait forever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ready, new Promise((_, reject) => (timer = setTimeout(() => reject(new RequestTimeoutError("the queue (Redis) is not reachable")), timeoutMs)))]).finally(() => clearTimeout(timer));
      const job = await queue.add("stake-order", StakeOrderRequest.parse(request), { ...REQUEST_JOB_OPTIONS, jobId: `stake-order/${request.deviceId}/${randomUUID()}` });
      let answer: unknown;
      try {
        answer = await job.waitUntilFinished(events, timeoutMs);
      } catch (error) {
        if (error instanceof Error && /timed out/i.test(error.message)) throw new RequestTimeoutError("the scheduler did not answer the stake order in time");
        throw error;
      }
      return StakeOrderAnswer.parse(answer);
    },
    async close() {
      await Promise.allSettled([queue.close(), events.close()]);
      connection.disconnect();
      blocking.disconnect();
    },
  };
}
