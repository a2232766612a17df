import type { JobsOptions, Queue } from "bullmq";
import type { JobSpec } from "./jobs.ts";

/**
 * Enqueues work under its deterministic id so that its own failed past cannot block it. BullMQ
 * ignores an add whose id exists, and failed jobs are kept (30 days, for inspection): a plain add
 * after a job exhausted its attempts would be a silent no-op for a month. Here:
 * - no job with that id: added;
 * - a failed one: retried under the same id (attempts counted from zero again, same data: the first
 *   request's, e.g. its instant);
 * - waiting, delayed or active: nothing;
 * - completed: nothing (completed ids dedupe for removeOnComplete's window), unless `rerunCompleted`:
 *   sweeps pass it for work Postgres says is still unfinished, where a completed job only means an
 *   earlier run stopped short (it lost a race to a job that then failed): removed and added again.
 * Safe to call from several processes at once: a lost race is either a duplicate add (ignored) or a
 * retry of a job another process has just retried (no longer failed: nothing to do).
 */
export async function enqueueOnce<Data>(
  queue: Queue<Data>,
  name: string,
  data: Data,
  jobId: string,
  opts: Omit<JobsOptions, "jobId"> = {},
  { rerunCompleted = false }: { rerunCompleted?: boolean } = {},
): Promise<EnqueueOutcome> {
  // Queue<Data>'s add signature is generic over name/result types; the plain form is what we use.
  const q = queue as unknown as Queue;
  const state = await q.getJobState(jobId);
  if (state === "unknown") {
    await q.add(name, data, { ...opts, jobId });
    return "added";
  }
  if (state === "completed" && rerunCompleted) {
    try {
      await (await q.getJob(jobId))?.remove();
    } catch (error) {
      // Another process re-added it and a worker holds it now: it is running again, as wanted.
      if ((await q.getJobState(jobId)) === "active") return "exists";
      throw error;
    }
    await q.add(name, data, { ...opts, jobId });
    return "added";
  }
  if (state !== "failed") return "exists";
  const job = await q.getJob(jobId);
  if (!job) return enqueueOnce(queue, name, data, jobId, opts, { rerunCompleted }); // removed meanwhile (its age ran out)
  try {
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return "retried";
  } catch (error) {
    // Another process retried it first: it is no longer failed, which is all we wanted.
    if ((await q.getJobState(jobId)) !== "failed") return "exists";
    throw error;
  }
}

export type EnqueueOutcome = "added" | "retried" | "exists";

/** `enqueueOnce` for many jobs of one queue (sweeps); their Redis calls are pipelined by the client. */
export async function enqueueManyOnce<Data>(
  queue: Queue<Data>,
  jobs: readonly { name: string; data: Data; jobId: string; opts?: Omit<JobsOptions, "jobId">; rerunCompleted?: boolean }[],
): Promise<{ added: number; retried: number }> {
  const counts = { added: 0, retried: 0 };
  const CHUNK = 200;
  for (let i = 0; i < jobs.length; i += CHUNK) {
    const outcomes = await Promise.all(jobs.slice(i, i + CHUNK).map((j) => enqueueOnce(queue, j.name, j.data, j.jobId, j.opts, { rerunCompleted: j.rerunCompleted ?? false })));
    for (const outcome of outcomes) if (outcome !== "exists") counts[outcome]++;
  }
  return counts;
}

/** `enqueueOnce` of a job built by `jobs` (jobs.ts), on its own queue (refused on another one). */
export async function enqueueJob(queue: Queue, job: JobSpec, options: { rerunCompleted?: boolean } = {}): Promise<EnqueueOutcome> {
  if (queue.name !== job.queue) throw new Error(`job ${job.jobId} belongs on queue ${job.queue}, not ${queue.name}`);
  return enqueueOnce(queue, job.name, job.data, job.jobId, job.opts, options);
}
