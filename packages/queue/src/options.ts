import type { BackoffStrategy, JobsOptions } from "bullmq";
import type { QueueName } from "./names.ts";

/** Prefix of BullMQ keys (several environments can share one Redis): the scheduler's QUEUE_PREFIX default. */
export const DEFAULT_QUEUE_PREFIX = "gpumesh";

export const DEFAULT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: "exponential", delay: 1_000 },
  // Completed jobs are kept a while (dedupe window for ids); failed ones much longer, for inspection
  // (enqueueOnce retries a failed one, so it never blocks its id).
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const satisfies JobsOptions;

/** The backoff type of chain-touching jobs (settle, end, cancel, reward epochs): see `cappedExponentialBackoff`. */
export const CAPPED_BACKOFF = "capped-exponential";

/** Retries of a chain-touching job: the scheduler's CHAIN_RETRY_ATTEMPTS / CHAIN_RETRY_DELAY_MS defaults. */
export interface ChainRetry {
  attempts: number;
  delayMs: number;
}

export const DEFAULT_CHAIN_RETRY: ChainRetry = { attempts: 20, delayMs: 1_000 };

/**
 * Queues whose jobs touch the chain (settle, rewards): more attempts, exponential backoff capped by
 * the workers' strategy (`cappedExponentialBackoff`), so a job rides out a long outage at a steady
 * pace; the sweeps retry it after a longer one.
 */
export function chainJobOptions(retry: ChainRetry = DEFAULT_CHAIN_RETRY) {
  return { ...DEFAULT_JOB_OPTIONS, attempts: retry.attempts, backoff: { type: CAPPED_BACKOFF, delay: retry.delayMs } } satisfies JobsOptions;
}

/** Queues whose jobs use `chainJobOptions`. */
export const CHAIN_QUEUES: ReadonlySet<QueueName> = new Set<QueueName>(["settle", "rewards"]);

/** The default job options of a queue (what its Queue's `defaultJobOptions` must be, in every producer). */
export function jobOptionsOf(queue: QueueName, retry: ChainRetry = DEFAULT_CHAIN_RETRY): JobsOptions {
  return CHAIN_QUEUES.has(queue) ? chainJobOptions(retry) : DEFAULT_JOB_OPTIONS;
}

/**
 * Exponential backoff capped at `maxDelayMs` (BullMQ's built-in exponential has no cap, so with more
 * attempts its last delays would grow to hours). A chain outage shorter than the attempts × cap
 * window is ridden out by the job itself; a longer one by the sweeps, which retry failed jobs.
 * Registered as the workers' custom strategy; the built-in types keep their own meaning.
 */
export function cappedExponentialBackoff(maxDelayMs: number): BackoffStrategy {
  return (attemptsMade, type, _error, job) => {
    if (type !== CAPPED_BACKOFF) throw new Error(`unknown backoff type ${type ?? "(none)"}`);
    const backoff = job?.opts.backoff;
    const base = typeof backoff === "object" && backoff.delay !== undefined ? backoff.delay : 1_000;
    return Math.min(maxDelayMs, base * 2 ** Math.max(0, attemptsMade - 1));
  };
}
