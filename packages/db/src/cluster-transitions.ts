import {
  assertClusterTransition,
  canTransitionCluster,
  ClusterStatus as ClusterStatuses,
  transitionTimestamps,
  UnexpectedClusterStatusError,
  type ClusterStatus,
  type ClusterTransitionEvent,
} from "@gpumesh/core";
import type { Db } from "./client.ts";
import type { DbTransaction } from "./client.ts";
import { Prisma } from "./generated/prisma/client.ts";

/**
 * The only writer of `cluster.status`: every move goes through the SQL function
 * `gpumesh_cluster_transition` (migration 20261125000400_reservation_fn), called by `transitionSql`
 * below. It locks the cluster row (`SELECT … FOR UPDATE`), so two workers moving the same cluster
 * serialize and the second one validates against the first one's result; the allowed from-statuses
 * come from the state machine in @gpumesh/core; it stamps startedAt/endedAt once and records a
 * ClusterEvent in the same transaction. Publishing happens after COMMIT (an event
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
  const sql = transitionSql(clusterId, to, reason, options);
  const [row] = await tx.$queryRaw<TransitionSqlRow[]>`select from_status, changed, event_id, released_ids, released_devices from ${sql.call} t`;
  const { changed, from, event } = sql.result(row);
  return { changed, from, to, event };
}

/**
 * The transition in ONE round trip (one implicit transaction), then publish (best effort: the row is
 * the truth). With `releaseReason` the cluster's ACTIVE allocations are released in the same
 * statement (FAILED, REFUNDED). One statement instead of an interactive transaction: the deploy step
 * was CPU-bound on the latter (bench/RESULTS.md, reservation).
 */
export async function transitionCluster(
  db: Db,
  clusterId: string,
  to: ClusterStatus,
  reason: string,
  options: TransitionOptions & { publish?: PublishClusterEvent; releaseReason?: string } = {},
): Promise<TransitionResult & { released: { id: string; deviceId: string }[] }> {
  const sql = transitionSql(clusterId, to, reason, options);
  const [row] = await db.$queryRaw<TransitionSqlRow[]>`select from_status, changed, event_id, released_ids, released_devices from ${sql.call} t`;
  const result = sql.result(row);
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

/** A `gpumesh_cluster_transition(…)` call (migration 20261125000400_reservation_fn) and how to read its row. */
export interface TransitionSql {
  /** The function call, to select from: `select … from ${call} t`. */
  call: Prisma.Sql;
  /** Turns the function's row into the result (or the error) `transitionClusterInTx` would give. */
  result(row: TransitionSqlRow | undefined): TransitionResult & { released: { id: string; deviceId: string }[] };
}

export interface TransitionSqlRow {
  from_status: ClusterStatus | null;
  changed: boolean;
  event_id: bigint | null;
  released_ids: string[] | null;
  released_devices: string[] | null;
}

/**
 * The SQL form of `transitionClusterInTx`: same row lock, same state machine (its edges are checked
 * here and passed down as the allowed from-statuses), same ClusterEvent row, same errors. With
 * `releaseReason` the cluster's ACTIVE allocations are released in the same transaction.
 */
export function transitionSql(clusterId: string, to: ClusterStatus, reason: string, options: TransitionOptions & { releaseReason?: string } = {}): TransitionSql {
  const expected: readonly ClusterStatus[] =
    options.expectedFrom === undefined ? ClusterStatuses.options : typeof options.expectedFrom === "string" ? [options.expectedFrom] : options.expectedFrom;
  const allowed = expected.filter((from) => canTransitionCluster(from, to));
  const at = options.at ?? new Date();
  // Stamps are set once (coalesce in SQL), so which columns a move may stamp depends only on `to`.
  const stamps = transitionTimestamps(to, at, { startedAt: null, endedAt: null });
  const trimmed = reason.length > 500 ? `${reason.slice(0, 497)}...` : reason;
  const setEndsAt = options.data?.endsAt !== undefined;
  const call = Prisma.sql`gpumesh_cluster_transition(${clusterId}::uuid, ${to}::text, ${allowed}::text[], ${trimmed}::text, ${at}::timestamptz,
    ${stamps.startedAt !== undefined}::boolean, ${stamps.endedAt !== undefined}::boolean, ${setEndsAt}::boolean,
    ${setEndsAt ? options.data!.endsAt : null}::timestamptz, ${options.releaseReason ?? null}::text)`;
  return {
    call,
    result(row) {
      if (!row?.from_status) throw new ClusterNotFoundError(clusterId);
      const from = row.from_status;
      if (!row.changed) {
        if (from === to) return { changed: false, from, to, event: null, released: [] };
        if (!expected.includes(from)) throw new UnexpectedClusterStatusError(clusterId, expected, from);
        assertClusterTransition(from, to, clusterId);
        throw new Error(`cluster ${clusterId}: the database refused ${from} -> ${to}`);
      }
      const released = (row.released_ids ?? []).map((id, i) => ({ id, deviceId: row.released_devices![i]! }));
      return { changed: true, from, to, event: { eventId: String(row.event_id), clusterId, from, to, reason: trimmed, at: at.toISOString() }, released };
    },
  };
}
