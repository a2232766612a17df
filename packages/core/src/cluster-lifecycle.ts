import type { ClusterStatus } from "./schemas/enums.ts";

/**
 * The cluster state machine, in one place. Every writer of `cluster.status` goes through
 * `assertClusterTransition` (packages/db `transitionCluster` does it under a row lock), so the
 * timeline users watch can only show moves listed here.
 *
 *   REQUESTED → PAID → MATCHING → DEPLOYING → RUNNING ⇄ DEGRADED
 *                                    ↑   ↓                 ↓
 *                                    └ MATCHING    RUNNING/DEGRADED → ENDING → ENDED
 *   REQUESTED/PAID/MATCHING/DEPLOYING → FAILED → REFUNDED
 */
export const CLUSTER_TRANSITIONS: Readonly<Record<ClusterStatus, readonly ClusterStatus[]>> = {
  // Payment not confirmed (expired quote, failed transaction): nothing was escrowed, nothing to refund.
  REQUESTED: ["PAID", "FAILED"],
  // FAILED from PAID: the deploy job gave up before matching (e.g. the request became invalid).
  PAID: ["MATCHING", "FAILED"],
  MATCHING: ["DEPLOYING", "FAILED"],
  // Back to MATCHING when an agent refused or timed out and a replacement node is being matched.
  DEPLOYING: ["RUNNING", "MATCHING", "FAILED"],
  RUNNING: ["DEGRADED", "ENDING"],
  // DEGRADED: a node went offline. A replacement brings it back to RUNNING; otherwise it ends early
  // (ENDING settles what was used and refunds the rest pro rata).
  DEGRADED: ["RUNNING", "ENDING"],
  ENDING: ["ENDED"],
  ENDED: [],
  // A failed cluster never ran: the whole deposit goes back.
  FAILED: ["REFUNDED"],
  REFUNDED: [],
};

/** Statuses in which the cluster holds (or is acquiring) devices. */
export const CLUSTER_HOLDS_DEVICES: ReadonlySet<ClusterStatus> = new Set(["MATCHING", "DEPLOYING", "RUNNING", "DEGRADED", "ENDING"]);

/** Statuses in which renter time is billed. */
export const CLUSTER_BILLABLE: ReadonlySet<ClusterStatus> = new Set(["RUNNING", "DEGRADED"]);

export function isTerminalClusterStatus(status: ClusterStatus): boolean {
  return CLUSTER_TRANSITIONS[status].length === 0;
}

export function canTransitionCluster(from: ClusterStatus, to: ClusterStatus): boolean {
  return CLUSTER_TRANSITIONS[from].includes(to);
}

export class InvalidClusterTransitionError extends Error {
  readonly allowed: readonly ClusterStatus[];
  constructor(
    readonly from: ClusterStatus,
    readonly to: ClusterStatus,
    readonly clusterId?: string,
  ) {
    const allowed = CLUSTER_TRANSITIONS[from];
    const subject = clusterId ? `cluster ${clusterId}` : "cluster";
    const options = allowed.length ? `allowed from ${from}: ${allowed.join(", ")}` : `${from} is final`;
    super(`${subject} cannot go from ${from} to ${to} (${options})`);
    this.name = "InvalidClusterTransitionError";
    this.allowed = allowed;
  }
}

/** The caller expected another current status (a stale read, or a concurrent writer got there first). */
export class UnexpectedClusterStatusError extends Error {
  constructor(
    readonly clusterId: string,
    readonly expected: readonly ClusterStatus[],
    readonly actual: ClusterStatus,
  ) {
    super(`cluster ${clusterId} is ${actual}, expected ${expected.join(" or ")}`);
    this.name = "UnexpectedClusterStatusError";
  }
}

/** Throws `InvalidClusterTransitionError` unless `from → to` is an edge of the state machine. */
export function assertClusterTransition(from: ClusterStatus, to: ClusterStatus, clusterId?: string): void {
  if (!canTransitionCluster(from, to)) throw new InvalidClusterTransitionError(from, to, clusterId);
}

/** Timestamp columns a transition sets: the first entry into RUNNING starts the clock; terminal states stop it. */
export function transitionTimestamps(
  to: ClusterStatus,
  at: Date,
  current: { startedAt: Date | null; endedAt: Date | null },
): { startedAt?: Date; endedAt?: Date } {
  const stamps: { startedAt?: Date; endedAt?: Date } = {};
  if (to === "RUNNING" && current.startedAt === null) stamps.startedAt = at;
  if ((to === "ENDED" || to === "FAILED" || to === "REFUNDED") && current.endedAt === null) stamps.endedAt = at;
  return stamps;
}

/** What is published on `cluster:<id>` after a transition commits (JSON; the web page streams it). */
export interface ClusterTransitionEvent {
  /** ClusterEvent row id (a decimal string: it is a bigint). */
  eventId: string;
  clusterId: string;
  from: ClusterStatus | null;
  to: ClusterStatus;
  reason: string;
  /** ISO 8601. */
  at: string;
}

export const clusterEventChannel = (clusterId: string): string => `cluster:${clusterId}`;
