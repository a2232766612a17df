import {
  balancedJournal,
  LedgerAccounts,
  ledgerAccountType,
  transfer,
  type ClusterStatus,
  type ClusterTransitionEvent,
  type JournalDraft,
  type PaymentToken,
} from "@gpumesh/core";
import type { Db, DbTransaction } from "./client.ts";
import { ClusterNotFoundError, transitionSql, type TransitionResult, type TransitionSqlRow } from "./cluster-transitions.ts";
import { errorText, isExclusionViolation, SQLSTATE, sqlState } from "./errors.ts";
import { Prisma } from "./generated/prisma/client.ts";
import { ledgerReferences, refundEscrowSql as refundCall } from "./settlement.ts";

/**
 * Atomic gang reservation. A cluster's devices are reserved all or nothing in ONE transaction; the
 * exclusion constraint `allocation_device_no_overlap` (prisma/migrations/…_invariants) is the final
 * guard, so no device is ever in two overlapping ACTIVE allocations whatever the number of scheduler
 * processes. A lost race surfaces as a typed `DeviceUnavailableError` naming the devices, so the
 * caller re-matches without them.
 */

/** A Prisma interactive-transaction client (what `db.$transaction(async (tx) => …)` hands the callback). */

export interface DeviceClaim {
  deviceId: string;
  /** The device is leased whole: its full GPU count. */
  gpuCount: number;
  /** Price per GPU-hour agreed for this allocation, base units of the cluster's payment token. */
  pricePerGpuHour: bigint;
}

export interface GangReservation {
  clusterId: string;
  devices: readonly DeviceClaim[];
  /** The period is half-open, [startsAt, endsAt), like the constraint's tstzrange. */
  startsAt: Date;
  endsAt: Date;
}

export interface ReservedAllocation {
  id: string;
  clusterId: string;
  deviceId: string;
  gpuCount: number;
  pricePerGpuHour: bigint;
  startsAt: Date;
  endsAt: Date;
}

/**
 * reserved: taken for the period; contended: another transaction is reserving it right now;
 * no-runtime: the cluster brings a container image and the device's agent no longer runs images;
 * paused: its supplier paused it (it takes no new leases).
 */
export type UnavailableReason = "reserved" | "contended" | "not-online" | "paused" | "no-runtime" | "unknown";

export class DeviceUnavailableError extends Error {
  constructor(
    readonly clusterId: string,
    /** Devices that cannot be had for the period (lost the race, went offline, do not exist). Never empty. */
    readonly deviceIds: readonly string[],
    readonly reasons: Readonly<Record<string, UnavailableReason>>,
  ) {
    super(`cluster ${clusterId}: ${deviceIds.length} device(s) unavailable: ${deviceIds.map((id) => `${id} (${reasons[id]})`).join(", ")}`);
    this.name = "DeviceUnavailableError";
  }
}


export function isRetryableConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code === SQLSTATE.deadlock || code === SQLSTATE.serializationFailure || /deadlock detected|TransactionWriteConflict/i.test(errorText(error));
}

// -- reservation ------------------------------------------------------------------------------------

/** First key of the two-key advisory lock space used for device reservations (arbitrary, fixed). */
export const RESERVATION_LOCK_SPACE = 0x47504d; // "GPM"

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function validate(input: GangReservation): DeviceClaim[] {
  if (input.devices.length === 0) throw new RangeError(`cluster ${input.clusterId}: a reservation needs at least one device`);
  if (!(input.endsAt.getTime() > input.startsAt.getTime())) throw new RangeError(`cluster ${input.clusterId}: reservation period is empty or inverted`);
  const ids = new Set(input.devices.map((device) => device.deviceId));
  if (ids.size !== input.devices.length) throw new RangeError(`cluster ${input.clusterId}: a device appears twice in one reservation`);
  // Insert in device-id order: two gangs sharing devices then wait on each other in the same order
  // and cannot deadlock (the later one sees the earlier one's commit and gets 23P01 instead).
  return [...input.devices].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

/** Which of `deviceIds` are not available over [startsAt, endsAt) right now (committed state). */
export async function unavailableDevices(
  db: Db | DbTransaction,
  deviceIds: readonly string[],
  startsAt: Date,
  endsAt: Date,
  options: { exceptClusterId?: string } = {},
): Promise<Record<string, UnavailableReason>> {
  if (deviceIds.length === 0) return {};
  const rows = await db.$queryRaw<{ id: string; reason: UnavailableReason }[]>`
    select requested.id::text as id,
           case when d.id is null then 'unknown'
                when exists (select 1 from allocation a
                              where a.device_id = d.id and a.status = 'ACTIVE'
                                and a.cluster_id is distinct from ${options.exceptClusterId ?? null}::uuid
                                and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(${startsAt}::timestamptz, ${endsAt}::timestamptz, '[)'))
                  then 'reserved'
                when d.status <> 'ONLINE' then 'not-online'
                when d.paused_at is not null then 'paused'
           end as reason
      from unnest(${[...deviceIds]}::uuid[]) as requested(id)
      left join device d on d.id = requested.id`;
  const result: Record<string, UnavailableReason> = {};
  for (const row of rows) if (row.reason) result[row.id] = row.reason;
  return result;
}

/**
 * Inserts the gang's allocations inside the caller's transaction, so the reservation commits together
 * with what it enables (the cluster's move to DEPLOYING).
 *
 * 1. Try-lock each device (transaction-scoped advisory locks, never waiting): a device another
 *    reservation is inserting right now is reported `contended` at once, instead of this INSERT
 *    queueing behind that transaction only to fail at its commit. Advisory locks do not touch the
 *    device row, so heartbeats and the health sweep never wait on a reservation.
 * 2. Pre-check committed state: every device already taken or offline is reported at once.
 * 3. INSERT. The exclusion constraint stays the final guard (writers that skip step 1, a lock-key
 *    collision): a race lost there fails with 23P01 and aborts the transaction; map it afterwards
 *    with `reservationFailure(db, input, error)`.
 * Both early exits throw `DeviceUnavailableError`.
 */
export async function reserveDevicesInTx(tx: DbTransaction, input: GangReservation, options: { tryLock?: boolean } = {}): Promise<ReservedAllocation[]> {
  const devices = validate(input);
  if (options.tryLock !== false) {
    const contended = await tx.$queryRaw<{ id: string }[]>`
      select id::text from unnest(${devices.map((d) => d.deviceId)}::uuid[]) with ordinality as t(id, ord)
       where not pg_try_advisory_xact_lock(${RESERVATION_LOCK_SPACE}::int, hashtext(id::text))
       order by ord`;
    if (contended.length) {
      throw new DeviceUnavailableError(input.clusterId, contended.map((r) => r.id), Object.fromEntries(contended.map((r) => [r.id, "contended" as const])));
    }
  }
  const unavailable = await unavailableDevices(tx, devices.map((d) => d.deviceId), input.startsAt, input.endsAt);
  const losers = Object.keys(unavailable);
  if (losers.length) throw new DeviceUnavailableError(input.clusterId, losers, unavailable);
  const rows = await tx.$queryRaw<{ id: string; device_id: string; gpu_count: number; price_per_gpu_hour: bigint; starts_at: Date; ends_at: Date }[]>`
    insert into allocation (id, cluster_id, device_id, gpu_count, price_per_gpu_hour, starts_at, ends_at, status)
    select gen_random_uuid(), ${input.clusterId}::uuid, claim.device_id, claim.gpu_count, claim.price_text::bigint, ${input.startsAt}::timestamptz, ${input.endsAt}::timestamptz, 'ACTIVE'
      from unnest(${devices.map((d) => d.deviceId)}::uuid[], ${devices.map((d) => d.gpuCount)}::int[], ${devices.map((d) => d.pricePerGpuHour.toString())}::text[])
           with ordinality as claim(device_id, gpu_count, price_text, ord)
     order by claim.ord
    returning id::text, device_id::text, gpu_count, price_per_gpu_hour, starts_at, ends_at`;
  return rows.map((row) => ({
    id: row.id,
    clusterId: input.clusterId,
    deviceId: row.device_id,
    gpuCount: row.gpu_count,
    pricePerGpuHour: BigInt(row.price_per_gpu_hour),
    startsAt: row.starts_at,
    endsAt: row.ends_at,
  }));
}

/**
 * Turns the error of a failed reservation transaction into a `DeviceUnavailableError` when it was the
 * exclusion constraint (or returns the typed error unchanged); null for anything else. Runs after the
 * rollback: the winner's rows are committed by then (Postgres makes the loser wait for the winner's
 * commit before it reports 23P01), so a fresh query sees every device that is now taken; the device
 * named in the error's DETAIL is included even if it was released again in between.
 */
export async function reservationFailure(db: Db, input: GangReservation, error: unknown): Promise<DeviceUnavailableError | null> {
  if (error instanceof DeviceUnavailableError) return error;
  if (!isExclusionViolation(error)) return null;
  const ids = input.devices.map((d) => d.deviceId);
  const reasons = await unavailableDevices(db, ids, input.startsAt, input.endsAt);
  const named = errorText(error).match(new RegExp(`=\\((${UUID.source})`, "i"))?.[1]?.toLowerCase();
  if (named && ids.includes(named) && !reasons[named]) reasons[named] = "reserved";
  if (Object.keys(reasons).length === 0) {
    // The winner already released: we cannot tell which device it was; report the whole gang as
    // contended so the caller re-matches instead of looping on the same set.
    for (const id of ids) reasons[id] = "reserved";
  }
  return new DeviceUnavailableError(input.clusterId, Object.keys(reasons), reasons);
}

/**
 * Reserves in its own transaction, all or nothing. Deadlocks cannot arise between two reservations
 * (device-id order) but can with other writers; those are retried a few times.
 */
export async function reserveDevices(db: Db, input: GangReservation, options: { timeoutMs?: number; attempts?: number } = {}): Promise<ReservedAllocation[]> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction((tx) => reserveDevicesInTx(tx, input), { timeout: options.timeoutMs ?? 30_000, maxWait: options.timeoutMs ?? 30_000 });
    } catch (error) {
      const typed = await reservationFailure(db, input, error);
      if (typed) throw typed;
      if (attempt < attempts && isRetryableConflict(error)) continue;
      throw error;
    }
  }
}

export interface ReleasedAllocation {
  id: string;
  deviceId: string;
}

/**
 * Releases a cluster's ACTIVE allocations (all, or only `deviceIds`). Idempotent: already released
 * rows are left as they were (their first reason and time are kept), so replays release nothing more.
 */
export async function releaseAllocations(
  db: Db | DbTransaction,
  clusterId: string,
  reason: string,
  at: Date = new Date(),
  options: { deviceIds?: readonly string[]; allocationIds?: readonly string[] } = {},
): Promise<ReleasedAllocation[]> {
  const rows = await db.$queryRaw<{ id: string; device_id: string }[]>`
    update allocation set status = 'RELEASED', released_at = ${at}::timestamptz, release_reason = ${reason.slice(0, 200)}
     where cluster_id = ${clusterId}::uuid and status = 'ACTIVE'
       and (${options.deviceIds ? [...options.deviceIds] : null}::uuid[] is null or device_id = any(${options.deviceIds ? [...options.deviceIds] : null}::uuid[]))
       and (${options.allocationIds ? [...options.allocationIds] : null}::uuid[] is null or id = any(${options.allocationIds ? [...options.allocationIds] : null}::uuid[]))
    returning id::text, device_id::text`;
  return rows.map((row) => ({ id: row.id, deviceId: row.device_id }));
}

/** SQL check used by tests and the benchmark: pairs of ACTIVE allocations of one device that overlap (must be 0). */
export async function countDoubleBookings(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`
    select count(*) as n from allocation a join allocation b
      on a.device_id = b.device_id and a.id < b.id
     where a.status = 'ACTIVE' and b.status = 'ACTIVE'
       and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')`;
  return Number(row?.n ?? 0n);
}

// -- the deploy step in single round trips (migration 20261125000400_reservation_fn) ------------------
//
// The deploy step used to run each write as a Prisma interactive transaction (BEGIN, 3-8 statements,
// COMMIT), which made the scheduler CPU-bound in Node at ~6 requests/s (bench/RESULTS.md). These
// helpers do the same writes, with the same locks, checks and errors, as one SQL statement each; the
// SQL functions hold the logic that needs the row lock, the state machine stays in @gpumesh/core.

export type GangReservationOutcome =
  /** Reserved; for MATCHING the cluster moved to DEPLOYING in the same transaction (`event`, publish it). */
  | { outcome: "reserved"; allocations: { id: string; deviceId: string }[]; event: ClusterTransitionEvent | null }
  /** The cluster is no longer in the expected status, or holds other GPUs than the caller saw: re-read. */
  | { outcome: "moved"; status: string };

/**
 * Reserves a gang for a cluster in ONE statement (`gpumesh_reserve_gang`): locks the cluster row,
 * checks it is still `expected` and holds `heldGpus` ACTIVE GPUs, try-locks the devices, pre-checks
 * them, and inserts the gang — for MATCHING together with the move to DEPLOYING and its ClusterEvent.
 * All or nothing. A lost race (try-lock, pre-check, or the exclusion constraint itself) throws
 * `DeviceUnavailableError` naming the devices, with nothing written.
 */
export async function reserveGang(
  db: Db,
  input: GangReservation & { expected: "MATCHING" | "DEGRADED"; reason: string; at: Date; heldGpus: number; tryLock?: boolean },
): Promise<GangReservationOutcome> {
  const devices = validate(input);
  const reason = input.reason.length > 500 ? `${input.reason.slice(0, 497)}...` : input.reason;
  const [row] = await db.$queryRaw<{
    outcome: "reserved" | "moved" | "unavailable" | "missing";
    from_status: string | null;
    event_id: bigint | null;
    allocation_ids: string[] | null;
    allocation_devices: string[] | null;
    unavailable_ids: string[] | null;
    unavailable_reasons: UnavailableReason[] | null;
  }[]>`
    select outcome, from_status, event_id, allocation_ids, allocation_devices, unavailable_ids, unavailable_reasons
      from gpumesh_reserve_gang(${input.clusterId}::uuid, ${input.expected}::text, ${reason}::text, ${input.at}::timestamptz, ${input.heldGpus}::int,
                                ${input.startsAt}::timestamptz, ${input.endsAt}::timestamptz, ${devices.map((d) => d.deviceId)}::uuid[],
                                ${devices.map((d) => d.gpuCount)}::int[], ${devices.map((d) => d.pricePerGpuHour.toString())}::text[]::bigint[],
                                ${RESERVATION_LOCK_SPACE}::int, ${input.tryLock !== false}::boolean)`;
  if (!row || row.outcome === "missing") throw new ClusterNotFoundError(input.clusterId);
  if (row.outcome === "moved") return { outcome: "moved", status: row.from_status ?? "?" };
  if (row.outcome === "unavailable") {
    const ids = row.unavailable_ids ?? [];
    throw new DeviceUnavailableError(input.clusterId, ids, Object.fromEntries(ids.map((id, i) => [id, row.unavailable_reasons?.[i] ?? "unknown"])));
  }
  const allocations = (row.allocation_ids ?? []).map((id, i) => ({ id, deviceId: row.allocation_devices![i]! }));
  const event: ClusterTransitionEvent | null =
    row.event_id === null ? null : { eventId: String(row.event_id), clusterId: input.clusterId, from: "MATCHING", to: "DEPLOYING", reason, at: input.at.toISOString() };
  return { outcome: "reserved", allocations, event };
}

/** Arguments of `gpumesh_post_journal` for a validated, balanced draft. */
function journalCall(draft: JournalDraft): Prisma.Sql {
  const journal = balancedJournal(draft);
  return Prisma.sql`gpumesh_post_journal(${journal.reference}::text, ${journal.description}::text, ${journal.token}::text, ${journal.occurredAt}::timestamptz,
    ${journal.lines.map((l) => l.account)}::text[], ${journal.lines.map((l) => ledgerAccountType(l.account))}::text[],
    ${journal.lines.map((l) => l.amount.toString())}::text[]::bigint[])`;
}

interface ClusterMoney {
  id: string;
  renterId: string;
  paymentToken: PaymentToken;
  depositAmount: bigint;
}

/** The deposit journal `postDepositJournal` posts (same reference and lines), for one-statement callers. */
function depositDraft(cluster: ClusterMoney, occurredAt: Date): JournalDraft {
  return {
    reference: ledgerReferences.deposit(cluster.id),
    description: `deposit of cluster ${cluster.id} into escrow`,
    token: cluster.paymentToken,
    occurredAt,
    lines: transfer(LedgerAccounts.renterWallet(cluster.renterId, cluster.paymentToken), LedgerAccounts.escrow(cluster.id, cluster.paymentToken), cluster.depositAmount),
  };
}

/** The deposit journal's `gpumesh_post_journal(…)` call, for statements that chain it (quotes.ts). */
export function depositJournalCall(cluster: { id: string; renterId: string; paymentToken: PaymentToken; depositAmount: bigint }, at: Date): Prisma.Sql {
  return journalCall(depositDraft(cluster, at));
}

/**
 * PAID → MATCHING with the deposit journal (a no-op when the payment path posted it), in one
 * statement: the deploy step's first move. Errors as `transitionCluster`.
 */
export async function startMatchingSql(db: Db, cluster: ClusterMoney, reason: string, at: Date): Promise<TransitionResult> {
  const move = transitionSql(cluster.id, "MATCHING", reason, { expectedFrom: "PAID", at });
  const rows = cluster.depositAmount === 0n
    ? await db.$queryRaw<TransitionSqlRow[]>`select t.* from ${move.call} t`
    : await db.$queryRaw<TransitionSqlRow[]>`select t.* from ${journalCall(depositDraft(cluster, at))} j, ${move.call} t`;
  return move.result(rows[0]);
}

/** `gpumesh_refund_escrow(go, …)` for a cluster: the refund journal's references, texts and accounts. */


/**
 * FAILED → REFUNDED in one statement: releases whatever the cluster still holds and refunds the
 * escrow (deposit − Σ settled; the deposit journal is posted first if missing), all under the row lock
 * the transition takes. Same journals (references, lines) as `postRefundJournal`.
 */
export async function refundFailedSql(
  db: Db,
  cluster: Omit<ClusterMoney, "depositAmount">,
  options: { at: Date; reason: string; why: string; releaseReason: string },
): Promise<TransitionResult & { refund: { amount: bigint; created: boolean } }> {
  const move = transitionSql(cluster.id, "REFUNDED", options.reason, { expectedFrom: "FAILED", at: options.at, releaseReason: options.releaseReason });
  // LATERAL on t.changed orders the calls: the refund runs after the move, under its row lock.
  const [row] = await db.$queryRaw<(TransitionSqlRow & { amount: bigint; created: boolean })[]>`
    select t.*, r.amount, r.created
      from ${move.call} t
     cross join lateral ${refundCall(Prisma.sql`t.changed`, cluster, options.at, options.why)} r`;
  const result = move.result(row);
  return { ...result, refund: { amount: row ? BigInt(row.amount) : 0n, created: row?.created ?? false } };
}

/**
 * `from` → FAILED (releasing what the cluster holds) and FAILED → REFUNDED with the refund, in ONE
 * statement and transaction: a deploy that finds no placement ends in a single round trip. Both moves
 * get their ClusterEvent; the REFUNDED move only happens if the FAILED one did (LATERAL on its
 * `changed`). Errors as `transitionCluster` for the first move.
 */
export async function failAndRefundSql(
  db: Db,
  cluster: Omit<ClusterMoney, "depositAmount">,
  options: { expectedFrom: ClusterStatus; at: Date; reason: string; failReleaseReason: string; refundReason: string; why: string; refundReleaseReason: string },
): Promise<{ failed: TransitionResult & { released: { id: string; deviceId: string }[] }; refunded: TransitionResult; refund: { amount: bigint; created: boolean } }> {
  const refundReason = options.refundReason.length > 500 ? `${options.refundReason.slice(0, 497)}...` : options.refundReason;
  const fail = transitionSql(cluster.id, "FAILED", options.reason, { expectedFrom: options.expectedFrom, at: options.at, releaseReason: options.failReleaseReason });
  const refund = transitionSql(cluster.id, "REFUNDED", refundReason, { expectedFrom: "FAILED", at: options.at, releaseReason: options.refundReleaseReason });
  const [row] = await db.$queryRaw<(TransitionSqlRow & { r_from: ClusterStatus | null; r_changed: boolean; r_event: bigint | null; amount: bigint; created: boolean })[]>`
    select f.*, r.from_status as r_from, r.changed as r_changed, r.event_id as r_event, m.amount, m.created
      from ${fail.call} f
     cross join lateral gpumesh_cluster_transition(${cluster.id}::uuid, 'REFUNDED', case when f.changed then array['FAILED'] else '{}'::text[] end,
                                                   ${refundReason}::text, ${options.at}::timestamptz, false, true, false, null, ${options.refundReleaseReason}::text) r
     cross join lateral ${refundCall(Prisma.sql`r.changed`, cluster, options.at, options.why)} m`;
  const failed = fail.result(row);
  if (!failed.changed || !row) return { failed, refunded: { changed: false, from: failed.from, to: "REFUNDED", event: null }, refund: { amount: 0n, created: false } };
  const refunded = refund.result({ from_status: row.r_from, changed: row.r_changed, event_id: row.r_event, released_ids: null, released_devices: null });
  return { failed, refunded, refund: { amount: BigInt(row.amount), created: row.created } };
}
