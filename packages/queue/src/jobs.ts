import type { JobsOptions } from "bullmq";
import { jobIds, QUEUES, type QueueName } from "./names.ts";
import type { JobName, PayloadOf } from "./payloads.ts";

/**
 * The jobs producers enqueue, each with its queue, name, payload and deterministic id in one place, so
 * the web (a producer) and the scheduler (its own producer for follow-up work) cannot disagree on any
 * of them. Enqueue a spec with `enqueueOnce(queue, spec)` or through `createProducer`.
 */
export interface JobSpec {
  queue: QueueName;
  name: string;
  data: unknown;
  jobId: string;
  opts?: Omit<JobsOptions, "jobId">;
}

/** A job of queue `Q` named `N`, its payload typed by its schema. */
export type TypedJobSpec<Q extends QueueName, N extends JobName<Q>> = JobSpec & { queue: Q; name: N; data: PayloadOf<Q, N> };

function spec<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, data: PayloadOf<Q, N>, jobId: string, opts?: Omit<JobsOptions, "jobId">): TypedJobSpec<Q, N> {
  return opts ? { queue, name, data, jobId, opts } : { queue, name, data, jobId };
}

/** Milliseconds until `at` (never negative). */
const delayUntil = (at: Date, now: Date) => Math.max(0, at.getTime() - now.getTime());

export const jobs = {
  /** The deployment of a paid cluster (the payment path enqueues it once the deposit is confirmed). */
  deploy: (clusterId: string) => spec(QUEUES.deploy, "deploy", { clusterId }, jobIds.deploy(clusterId)),
  /**
   * The renter's terminate, fixed at `requestedAt` (the first request's: later ones find the job and
   * add nothing). Record the instant in Postgres first (`recordEndRequest` in @gpumesh/db), so the
   * lease bills no further even if the job runs late.
   */
  requestEnd: (clusterId: string, requestedAt: Date, reason = "terminated by the renter") =>
    spec(QUEUES.settle, "end", { clusterId, reason, requestedAt: requestedAt.toISOString() }, jobIds.end(clusterId, "request")),
  /** The settle sweep finishes an end that stopped short (ENDING, or ENDED with the lease still open on-chain). */
  resumeEnd: (clusterId: string, reason: string) => spec(QUEUES.settle, "end", { clusterId, reason }, jobIds.end(clusterId, "sweep")),
  /** A degraded cluster that cannot be repaired ends now. */
  endEarly: (clusterId: string, reason: string) => spec(QUEUES.settle, "end", { clusterId, reason }, jobIds.end(clusterId, "degraded")),
  /**
   * The paid end of a lease at `endsAt`, delayed until then: enqueued when the lease starts running and
   * again after every extension (the new end gets a job of its own; the old one re-schedules itself).
   */
  expiry: (clusterId: string, endsAt: Date, now = new Date()) =>
    spec(QUEUES.settle, "expiry", { clusterId, endsAt: endsAt.toISOString() }, jobIds.expiry(clusterId, endsAt), { delay: delayUntil(endsAt, now) }),
  /** Brings the cluster's on-chain lease in line with the ledger (one per trigger instant). */
  leaseSync: (clusterId: string, at = new Date()) => spec(QUEUES.settle, "lease-sync", { clusterId }, jobIds.leaseSync(clusterId, at)),
  /** Cancels the on-chain lease of a cluster that never ran. */
  cancel: (clusterId: string) => spec(QUEUES.settle, "cancel", { clusterId }, jobIds.cancel(clusterId)),
  /** Slashes the stake of the device that failed `challengeId` with proof of cheating (settle queue: chain retries). */
  slash: (challengeId: string) => spec(QUEUES.settle, "slash", { challengeId }, jobIds.slash(challengeId)),
  /** Slashes the stake of a device that vanished mid-lease (`outageId`: its device_outage row) beyond the grace period (settle queue: chain retries). */
  slashVanished: (outageId: string) => spec(QUEUES.settle, "slash-vanished", { outageId }, jobIds.slashVanished(outageId)),
  reconcile: (clusterId: string) => spec(QUEUES.settle, "reconcile", { clusterId }, jobIds.reconcile(clusterId)),
  settlePeriod: (clusterId: string, periodStart: Date) => spec(QUEUES.settle, "period", { clusterId, periodStart: periodStart.toISOString() }, jobIds.settlePeriod(clusterId, periodStart)),
  /** The deploy workflow's step when an allocation's ack deadline passes (just after it). */
  ackDeadline: (clusterId: string, allocationId: string, at: Date, now = new Date()) =>
    spec(QUEUES.deploy, "ack-deadline", { clusterId }, jobIds.ackDeadline(clusterId, allocationId), { delay: delayUntil(at, now) + 250 }),
  agentResponse: (response: PayloadOf<"deploy", "agent-response">) => spec(QUEUES.deploy, "agent-response", response, jobIds.agentResponse(response.clusterId, response.allocationId)),
  nodeLost: (clusterId: string, allocationId: string, reason: string) => spec(QUEUES.deploy, "node-lost", { clusterId, allocationId, reason }, jobIds.nodeLost(clusterId, allocationId)),
  deployNudge: (clusterId: string, slot: number) => spec(QUEUES.deploy, "nudge", { clusterId }, jobIds.deployNudge(clusterId, slot)),
  verifyDeliver: (challengeId: string) => spec(QUEUES.verify, "deliver", { challengeId }, jobIds.verifyDeliver(challengeId)),
  /** A challenge's deadline (just after it). */
  verifyExpire: (challengeId: string, deadlineAt: Date, now = new Date()) =>
    spec(QUEUES.verify, "expire", { challengeId }, jobIds.verifyExpire(challengeId), { delay: delayUntil(deadlineAt, now) + 250 }),
  verifyAnswer: (type: "commitment" | "opening", challengeId: string, deviceId: string, answer: unknown, receivedAt: Date) =>
    spec(QUEUES.verify, type, { answer, receivedAt: receivedAt.toISOString() }, jobIds.verifyAnswer(challengeId, type, deviceId)),
  rewardsEpoch: (epoch: number) => spec(QUEUES.rewards, "epoch", { epoch }, jobIds.rewardsEpoch(epoch)),
} as const;
