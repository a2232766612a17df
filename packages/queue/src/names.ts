/**
 * Queue names and job ids. Job ids derive from domain ids so that enqueuing the same work twice (a
 * retry, a restarted scheduler, two scheduler processes, the web and a sweep) yields one job: BullMQ
 * ignores a job whose id already exists. Producers and sweeps go through `enqueueOnce` (enqueue.ts),
 * which retries a job whose id is held by a failed attempt instead of being ignored.
 *
 * Separator: BullMQ refuses custom ids containing ':' (unless they have exactly three parts, a legacy
 * repeat-job form), so ids use '/' and times are written in ISO 8601 basic format (20261125T100000Z).
 */
export const QUEUES = {
  health: "health",
  deploy: "deploy",
  settle: "settle",
  /** Proof-of-physical-work challenges per device. */
  verify: "verify",
  /** The chain indexer: one catch-up pass per tick (only with a chain). */
  index: "index",
  /** Hourly reward epochs: crank, contributions, merkle root posted, leaves stored (only with a chain). */
  rewards: "rewards",
  /** The explorer's rollups: one snapshot of the network per tick. */
  explorer: "explorer",
  /** Requests the web waits on, answered by the scheduler (requests.ts): the stake order. */
  requests: "requests",
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** ISO 8601 basic format, UTC, no colons: 2026-11-25T10:00:00.000Z → 20261125T100000Z (ms kept if non-zero). */
export function basicIso(date: Date): string {
  const iso = date.toISOString().replace(/[-:]/g, "");
  return iso.endsWith(".000Z") ? iso.replace(".000Z", "Z") : iso;
}

/** Why an `end` job ends a lease (the paid end has a job of its own: `expiry`). */
export type EndCause = "request" | "degraded" | "sweep";

export const jobIds = {
  healthSweep: "health-sweep",
  deploySweep: "deploy-sweep",
  settleSweep: "settle-sweep",
  verifySweep: "verify-sweep",
  /** Hands one challenge to its device. */
  verifyDeliver: (challengeId: string) => `verify/${challengeId}/deliver`,
  /** A challenge's deadline: expires it unless it was closed first. */
  verifyExpire: (challengeId: string) => `verify/${challengeId}/expire`,
  /** An agent's answer to a challenge (commitment or opened rows), one per challenge, kind and device. */
  verifyAnswer: (challengeId: string, type: "commitment" | "opening", deviceId: string) => `verify/${challengeId}/${type}/${deviceId}`,
  rewardsSweep: "rewards-sweep",
  /** The explorer rollup's job scheduler: one snapshot per EXPLORER_EVERY_S across all scheduler processes. */
  explorerTick: "explorer-tick",
  /** One job per reward epoch (emission hour). */
  rewardsEpoch: (epoch: number) => `rewards/${epoch}`,
  /** The indexer's job scheduler: one pass per INDEX_EVERY_S tick across all scheduler processes. */
  indexTick: "index-tick",
  /** The first deploy job of a paid cluster (enqueued by the payment path). */
  deploy: (clusterId: string) => `deploy/${clusterId}`,
  /** An agent's answer to an assignment: one per allocation. */
  agentResponse: (clusterId: string, allocationId: string) => `deploy/${clusterId}/response/${allocationId}`,
  /** The ack deadline of one allocation. */
  ackDeadline: (clusterId: string, allocationId: string) => `deploy/${clusterId}/deadline/${allocationId}`,
  /** Recovery nudges from the deploy sweep, one per cluster per sweep slot. */
  deployNudge: (clusterId: string, slot: number) => `deploy/${clusterId}/nudge/${slot}`,
  settlePeriod: (clusterId: string, periodStart: Date) => `settle/${clusterId}/${basicIso(periodStart)}`,
  /**
   * The end of a lease other than its paid end: `request` when the renter ends it, `degraded` when a
   * lost node cannot be replaced, `sweep` when the settle sweep finishes an interrupted end.
   */
  end: (clusterId: string, cause: EndCause) => `end/${clusterId}/${cause}`,
  /**
   * The lease's paid end, one per end instant: scheduled when it starts running, and again for the new
   * end when it is extended (the job for the old end, if it fires, re-schedules itself instead of ending).
   */
  expiry: (clusterId: string, endsAt: Date) => `end/${clusterId}/expiry/${basicIso(endsAt)}`,
  /** Cancels the on-chain lease of a cluster that never ran (FAILED/REFUNDED): the escrow goes back in full. */
  cancel: (clusterId: string) => `cancel/${clusterId}`,
  /**
   * Brings a cluster's on-chain lease in line with the ledger (activation, allocations, settles, end,
   * cancel): one per trigger instant, since each change of the cluster may need another sync.
   */
  leaseSync: (clusterId: string, at: Date) => `lease/${clusterId}/${basicIso(at)}`,
  /** Slashes the stake of a device caught cheating by this challenge (wrong result or wrong root): once per challenge. */
  slash: (challengeId: string) => `slash/${challengeId}`,
  /** Slashes the stake of a device that vanished mid-lease beyond the grace period: once per outage. */
  slashVanished: (outageId: string) => `slash/outage/${outageId}`,
  /** The reconciliation of a closed lease (chain = ledger): once per lease. */
  reconcile: (clusterId: string) => `reconcile/${clusterId}`,
  /** A node of a cluster went offline: one job per allocation. */
  nodeLost: (clusterId: string, allocationId: string) => `deploy/${clusterId}/lost/${allocationId}`,
} as const;
