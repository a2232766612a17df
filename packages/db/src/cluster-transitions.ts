import {
  assertClusterTransition,
  transitionTimestamps,
  UnexpectedClusterStatusError,
  type ClusterStatus,
  type ClusterTransitionEvent,
} from "@gpumesh/core";
import type { Db } from "./client.ts";
import type { DbTransaction } from "./client.ts";

/**
 * The only writer of `cluster.status`. A transition locks the cluster row (`SELECT … FOR UPDATE`), so
 * two workers moving the same cluster serialize and the second one validates against the first one's
 * result; it checks the move against the state machine in @gpumesh/core, stamps startedAt/endedAt,
 * and records a ClusterEvent in the same transaction. Publishing happens after COMMIT (an event
 * never announces a change that rolled back); the publisher is passed in so this package needs no
 * Redis.
 */

export type PublishClusterEvent = (event: ClusterTransitionEvent) => Promise<unknown> | unknown;

export interface TransitionOptions {
  /** Refuse unless the cluster is currently in one of these (guards against acting on a stale read). */
  expectedFrom?: ClusterStatus | readonly ClusterStatus[];
  at?: Date;
  /** Extra cluster columns written with the status (e.g. `endsAt` when it starts running). */
  data?: { endsAt?: Date | null };
}

export interface TransitionResult {
  /** False when the cluster was already in the target status (an idempotent replay): nothing written. */
  changed: boolean;
  from: ClusterStatus;
  to: ClusterStatus;
  event: ClusterTransitionEvent | null;
}

export class ClusterNotFoundError extends Error {
  constructor(readonly clusterId: string) {
    super(`cluster ${clusterId} does not exist`);
    this.name = "ClusterNotFoundError";
  }
}

/**
 * The transition inside the caller's transaction (to commit it together with, say, a reservation).
 * The caller publishes `result.event` after its commit. Already being in `to` is a no-op
 * (`changed: false`) so that retried jobs are idempotent; any other disallowed move throws
 * `InvalidClusterTransitionError`, a stale `expectedFrom` throws `UnexpectedClusterStatusError`.
 */
export async function transitionClusterInTx(
  tx: DbTransaction,
  clusterId: string,
  to: ClusterStatus,
  reason: string,
  options: TransitionOptions = {},
): Promise<TransitionResult> {
  const [cluster] = await tx.$queryRaw<{ status: ClusterStatus; started_at: Date | null; ended_at: Date | null }[]>`
    select status::text as status, started_at, ended_at from cluster where id = ${clusterId}::uuid for update`;
  if (!cluster) throw new ClusterNotFoundError(clusterId);
  const from = cluster.status;
  if (from === to) return { changed: false, from, to, event: null };
  if (options.expectedFrom !== undefined) {
    const expected: readonly ClusterStatus[] = typeof options.expectedFrom === "string" ? [options.expectedFrom] : options.expectedFrom;
    if (!expected.includes(from)) throw new UnexpectedClusterStatusError(clusterId, expected, from);
  }
  assertClusterTransition(from, to, clusterId);
  const at = options.at ?? new Date();
  const stamps = transitionTimestamps(to, at, { startedAt: cluster.started_at, endedAt: cluster.ended_at });
  await tx.cluster.update({
    where: { id: clusterId },
    data: { status: to, ...stamps, ...(options.data?.endsAt !== undefined ? { endsAt: options.data.endsAt } : {}), updatedAt: at },
  });
  const trimmed = reason.length > 500 ? `${reason.slice(0, 497)}...` : reason;
  const row = await tx.clusterEvent.create({ data: { clusterId, fromStatus: from, toStatus: to, reason: trimmed, at }, select: { id: true } });
  return { changed: true, from, to, event: { eventId: row.id.toString(), clusterId, from, to, reason: trimmed, at: at.toISOString() } };
}

/** One transaction: lock, validate, update, record; then publish (best effort: the row is the truth). */
export async function transitionCluster(
  db: Db,
  clusterId: string,
  to: ClusterStatus,
  reason: string,
  options: TransitionOptions & { publish?: PublishClusterEvent } = {},
): Promise<TransitionResult> {
  const result = await db.$transaction((tx) => transitionClusterInTx(tx, clusterId, to, reason, options));
  if (result.event && options.publish) await publishSafely(options.publish, result.event);
  return result;
}

/**
 * Publishing is fire-and-forget on purpose: the ClusterEvent row is committed, a page that missed the
 * pub/sub message reloads the timeline from Postgres; failing the job here would only redo work.
 */
export async function publishSafely(publish: PublishClusterEvent, event: ClusterTransitionEvent): Promise<void> {
  try {
    await publish(event);
  } catch {
    // Deliberately swallowed; see above.
  }
}
