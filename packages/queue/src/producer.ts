import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { enqueueJob, type EnqueueOutcome } from "./enqueue.ts";
import { jobs, type JobSpec } from "./jobs.ts";
import type { QueueName } from "./names.ts";
import { DEFAULT_CHAIN_RETRY, DEFAULT_QUEUE_PREFIX, jobOptionsOf, type ChainRetry } from "./options.ts";

/**
 * The producer side of the queues, for a process that enqueues work and runs no worker (the web app):
 * one Redis connection that fails fast (`enableOfflineQueue: false`, one retry per command), so a
 * request handler gets an error at once when Redis is down instead of hanging on a queued command;
 * the caller decides (the Postgres write that came first is the truth, and the scheduler's sweeps
 * pick up what a failed enqueue left: a paid cluster's deployment, an unfinished end, a lease past
 * its end). Every method is idempotent (deterministic job ids, `enqueueOnce`).
 */
export interface Producer {
  /** The deployment of a paid cluster (`deploy/<cluster>`), once its deposit is confirmed. */
  deploy(clusterId: string): Promise<EnqueueOutcome>;
  /**
   * The renter's end request (`end/<cluster>/request`, cause "request"): cancels and refunds in full
   * before RUNNING, ends the lease at `requestedAt` after. Record the instant first with
   * `recordEndRequest` (@gpumesh/db); the first request's instant wins.
   */
  requestEnd(clusterId: string, requestedAt: Date, reason?: string): Promise<EnqueueOutcome>;
  /** A sync of the cluster's on-chain lease with the ledger (`lease/<cluster>/<at>`). */
  leaseSync(clusterId: string, at?: Date): Promise<EnqueueOutcome>;
  /**
   * After an extension was recorded (`recordExtension` in @gpumesh/db): the paid end at the new
   * `endsAt` (`end/<cluster>/expiry/<endsAt>`, delayed until then). The old end's job finds the end
   * moved and ends nothing.
   */
  extended(clusterId: string, endsAt: Date): Promise<EnqueueOutcome>;
  /** Any job built by `jobs`. */
  enqueue(job: JobSpec): Promise<EnqueueOutcome>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** BullMQ key prefix: the scheduler's QUEUE_PREFIX. */
  prefix?: string;
  /** Retries of chain-touching jobs: the scheduler's CHAIN_RETRY_ATTEMPTS / CHAIN_RETRY_DELAY_MS. */
  chainRetry?: ChainRetry;
  /** The clock delayed jobs are timed against. */
  now?: () => Date;
  /** How long an enqueue waits for a connection that is not up (starting, or reconnecting) before failing. */
  connectTimeoutMs?: number;
}

/** Redis cannot be reached: nothing was enqueued. */
export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QueueUnavailableError";
  }
}

export function createProducer(redisUrl: string, options: ProducerOptions = {}): Producer {
  const connection = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  // Errors reach the caller through the rejected command; an 'error' listener keeps ioredis from
  // reporting each reconnect attempt as an unhandled error event.
  connection.on("error", () => undefined);
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const retry = options.chainRetry ?? DEFAULT_CHAIN_RETRY;
  const now = options.now ?? (() => new Date());
  const queues = new Map<QueueName, Queue>();
  const queueOf = (name: QueueName) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix, defaultJobOptions: jobOptionsOf(name, retry) });
      queue.on("error", () => undefined);
      queues.set(name, queue);
    }
    return queue;
  };
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  let lastError: unknown;
  connection.on("error", (error) => (lastError = error));
  // BullMQ itself waits for a connection as long as ioredis keeps reconnecting (forever): the wait
  // is bounded here, and once connected, the disabled offline queue fails commands at once.
  const connected = async () => {
    if (connection.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        connection.off("ready", done);
        resolve();
      };
      const timer = setTimeout(() => {
        connection.off("ready", done);
        reject(new QueueUnavailableError(`Redis is not reachable (waited ${connectTimeoutMs} ms)`, { cause: lastError }));
      }, connectTimeoutMs);
      connection.on("ready", done);
    });
  };
  const enqueue = async (job: JobSpec) => {
    await connected();
    return enqueueJob(queueOf(job.queue), job);
  };
  return {
    deploy: (clusterId) => enqueue(jobs.deploy(clusterId)),
    requestEnd: (clusterId, requestedAt, reason) => enqueue(jobs.requestEnd(clusterId, requestedAt, reason)),
    leaseSync: (clusterId, at) => enqueue(jobs.leaseSync(clusterId, at ?? now())),
    extended: (clusterId, endsAt) => enqueue(jobs.expiry(clusterId, endsAt, now())),
    enqueue,
    async close() {
      await Promise.allSettled([...queues.values()].map((queue) => queue.close()));
      connection.disconnect();
    },
  };
}
