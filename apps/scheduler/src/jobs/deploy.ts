import { sealWorkload } from "@gpumesh/agent-protocol";
import { UnexpectedClusterStatusError, type ClusterStatus } from "@gpumesh/core";
import {
  failAndRefundSql,
  loadPlacement,
  openStoredWorkload,
  WorkloadSecretsError,
  type DeviceUnavailableError,
  type LivePlacement,
  type PlacedDevice,
  type PlacementQuery,
  placeAmong,
  publishSafely,
  rayRoles,
  refundFailedSql,
  releaseAllocations,
  reservationFailure,
  reserveGang,
  startMatchingWithHolds,
  transitionCluster,
  transitionClusterInTx,
  type Db,
  type GangReservation,
  type PublishClusterEvent,
  type TransitionResult,
} from "@gpumesh/db";
import type { Logger } from "pino";
import type { AgentChannel, AgentResponse } from "../agents.ts";

/**
 * The deploy workflow: PAID → MATCHING → (reserve) → DEPLOYING → (agents ack) → RUNNING, or FAILED →
 * REFUNDED. `advanceDeploy` is a reconciler: it reads the cluster and its allocations from Postgres
 * and performs the next step(s), so any job (first run, agent answer, ack deadline, recovery nudge,
 * a retry after a crash) can call it any number of times. Progress lives in Postgres only (status,
 * allocations, acknowledgedAt, release reasons): a worker killed at any point is resumed by the next.
 * Agents are never waited on inside a job; their answers arrive as jobs of their own and a delayed
 * job fires at each ack deadline.
 */
export interface DeployConfig {
  ackTimeoutMs: number;
  maxReplacements: number;
  maxReserveAttempts: number;
  minVerificationScoreBps: number;
}

export interface DeployScheduling {
  /** Ensures a job that re-runs the workflow when `allocationId`'s ack deadline passes. */
  ackDeadline(clusterId: string, allocationId: string, at: Date): Promise<void>;
  /** The cluster is running until `endsAt`: arrange its end. */
  running(clusterId: string, endsAt: Date): Promise<void>;
  /** A degraded cluster cannot be repaired: end it now (settle what was used, refund the rest). */
  endEarly(clusterId: string, reason: string): Promise<void>;
  /**
   * The cluster's billing changed (it started, a node was lost or replaced, it failed after payment):
   * its on-chain lease must follow (activate, allocations, cancel). Asynchronous: the control plane
   * never waits on the chain.
   */
  leaseChanged(clusterId: string): Promise<void>;
}

export interface DeployDeps {
  db: Db;
  agents: AgentChannel;
  publish: PublishClusterEvent;
  schedule: DeployScheduling;
  config: DeployConfig;
  logger: Logger;
  now?: () => Date;
  /**
   * Devices this process is reserving right now (shared by all its deploy jobs). Concurrent jobs of
   * one process then never pick the same device, so they do not race each other in Postgres; races
   * between processes remain and are settled by the reservation (try-lock, exclusion constraint).
   */
  inflight?: Set<string>;
  /**
   * This process's live placement index (packages/db/src/live-placement.ts). While it is ready, a
   * deploy round places from it instead of reading candidates; otherwise (starting, feed lost) it
   * reads them, as without one.
   */
  placement?: LivePlacement;
  /**
   * WORKLOAD_SECRETS_KEY: opens the env values a quote stored sealed (packages/db workload-secrets.ts),
   * to seal them again to each device. Rows from before sealing need none.
   */
  workloadSecretsKey?: Uint8Array;
  /** Counts reservations (metrics.ts): a gang reserved, a reservation race lost. */
  metrics?: { gangReserved(devices: number, replacement: boolean): void; reservationRaceLost(): void };
}

export type DeployOutcome =
  | { state: "waiting-payment" }
  | { state: "waiting-acks"; pending: number }
  | { state: "running" }
  | { state: "ending"; reason: string }
  | { state: "refunded"; reason: string }
  | { state: "done"; status: ClusterStatus };

/** Release reasons that count as a replaced node (prefixes; the rest of the text is for people). */
export const RELEASE = {
  refused: "refused",
  ackTimeout: "ack-timeout",
  offline: "offline",
  failed: "deploy-failed",
  /** A quote's held device that went offline (or was taken) before the deployment claimed it: matched afresh, not counted as a replaced node. */
  holdLost: "hold-lost",
} as const;

/** Released allocations that count against the replacement budget. */
const LOST_NODE = [RELEASE.refused, RELEASE.ackTimeout, RELEASE.offline].map((prefix) => ({ releaseReason: { startsWith: prefix } }));

/** Thrown inside a transaction to roll it back because the state moved under us: re-read and go on. */
class StateMoved extends Error {}

/**
 * Every re-match in this run lost its race, yet capacity may exist: fail the job (not the cluster), so
 * BullMQ retries it with backoff and the contention has passed by then.
 */
export class ReservationContendedError extends Error {
  constructor(readonly clusterId: string, attempts: number) {
    super(`cluster ${clusterId}: lost the reservation race ${attempts} times in a row; retrying later`);
    this.name = "ReservationContendedError";
  }
}

const MAX_STEPS = 25;

export async function advanceDeploy(deps: DeployDeps, clusterId: string): Promise<DeployOutcome> {
  const now = deps.now ?? (() => new Date());
  // The status this run itself just committed (under the row lock), so the next step need not re-read
  // the row; every write of the next step checks its expected status under the lock again anyway.
  let committed: ClusterStatus | null = null;
  let cached: ClusterRow | null = null;
  let failedReason: string | undefined;
  // What this run's own last write tells the next step (valid for one step only): the cluster has just
  // left PAID, so it holds no allocation (they are only written for MATCHING/DEGRADED clusters); or the
  // exact ACTIVE allocations its gang reservation inserted.
  let fresh = false;
  let known: ActiveAllocation[] | undefined;
  for (let step = 0; step < MAX_STEPS; step++) {
    const cluster: ClusterRow = committed && cached ? { ...cached, status: committed } : await deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
    const hint = committed ? { fresh, known } : { fresh: false, known: undefined };
    cached = cluster;
    committed = null;
    fresh = false;
    known = undefined;
    try {
      switch (cluster.status) {
        case "REQUESTED":
          return { state: "waiting-payment" };
        case "PAID": {
          // The payment path should have booked the deposit; posting it again is a no-op (same reference).
          // Deposit journal, PAID → MATCHING and the claim of a quote's held devices in one statement:
          // held devices still online are re-windowed to the real lease and deployed; the others are
          // released and matched afresh in MATCHING (only for the GPUs they leave missing).
          const at = now();
          const moved = await startMatchingWithHolds(deps.db, cluster, {
            reason: "deployment started: matching devices", at, endsAt: leaseEnd(cluster, at, deps.config),
            releaseReason: `${RELEASE.holdLost}: device left the network or was taken before the deployment`,
          });
          if (moved.event) await publishSafely(deps.publish, moved.event);
          if (moved.released.length) deps.logger.info({ cluster: cluster.id, lost: moved.released.length, kept: moved.kept.length }, "held devices lost before deployment: matching replacements");
          if (moved.changed) {
            committed = "MATCHING";
            // Not quoted (nothing held, nothing claimed): it holds no allocation, none to read.
            fresh = moved.kept.length === 0 && moved.released.length === 0;
          }
          continue;
        }
        case "MATCHING": {
          const next = await matchAndReserve(deps, cluster, now(), hint.fresh);
          committed = next.status;
          failedReason = next.reason;
          known = next.active;
          continue;
        }
        case "DEPLOYING": {
          const outcome = await deploying(deps, cluster, now(), hint.known);
          if (outcome) return outcome;
          continue;
        }
        case "FAILED":
          if (await refundFailed(deps, cluster, now())) committed = "REFUNDED";
          continue;
        case "REFUNDED":
          return { state: "refunded", reason: failedReason ?? (await lastReason(deps.db, clusterId, "FAILED")) ?? "failed" };
        case "RUNNING":
          return { state: "running" };
        case "DEGRADED": {
          const outcome = await degraded(deps, cluster, now());
          if (outcome) return outcome;
          continue;
        }
        default:
          return { state: "done", status: cluster.status };
      }
    } catch (error) {
      // A concurrent worker moved the cluster first: its change is committed; re-read and continue from there.
      if (error instanceof StateMoved || error instanceof UnexpectedClusterStatusError) continue;
      throw error;
    }
  }
  throw new Error(`cluster ${clusterId}: deploy did not settle after ${MAX_STEPS} steps`);
}

async function transition(deps: DeployDeps, clusterId: string, to: ClusterStatus, reason: string, expectedFrom: ClusterStatus): Promise<TransitionResult> {
  return transitionCluster(deps.db, clusterId, to, reason, { expectedFrom, publish: deps.publish, at: (deps.now ?? (() => new Date()))() });
}

async function lastReason(db: Db, clusterId: string, to: ClusterStatus): Promise<string | undefined> {
  const event = await db.clusterEvent.findFirst({ where: { clusterId, toStatus: to }, orderBy: { id: "desc" }, select: { reason: true } });
  return event?.reason;
}

type ClusterRow = Awaited<ReturnType<Db["cluster"]["findUniqueOrThrow"]>>;

/** The columns of an ACTIVE allocation the deploy steps use. */
interface ActiveAllocation {
  id: string;
  deviceId: string;
  gpuCount: number;
  startsAt: Date;
  endsAt: Date;
  acknowledgedAt: Date | null;
}

function leaseEnd(cluster: ClusterRow, from: Date, config: DeployConfig): Date {
  // Reserve for the whole lease plus the time deployment may take; shrunk to the real end at RUNNING.
  return new Date(from.getTime() + cluster.durationHours * 3_600_000 + config.ackTimeoutMs * (config.maxReplacements + 2));
}

/**
 * MATCHING: place what is missing, reserve it atomically, move to DEPLOYING in the same transaction.
 * Returns the status this call committed (null: none, re-read), and the failure reason if it failed.
 */
async function matchAndReserve(
  deps: DeployDeps,
  cluster: ClusterRow,
  at: Date,
  fresh: boolean,
): Promise<{ status: ClusterStatus | null; reason?: string; active?: ActiveAllocation[] }> {
  const outcome = await reserveMissing(deps, cluster, at, "MATCHING", fresh);
  if (outcome.ok) return outcome.moved ? { status: "DEPLOYING", ...(outcome.active ? { active: outcome.active } : {}) } : { status: null };
  if (outcome.contended) throw new ReservationContendedError(cluster.id, deps.config.maxReserveAttempts);
  // Nothing fits: MATCHING → FAILED → REFUNDED (releases, refund journal) in one statement; both moves
  // are recorded. A crash cannot leave it half done; FAILED clusters from elsewhere still go through
  // refundFailed.
  const result = await failAndRefundSql(deps.db, cluster, {
    expectedFrom: "MATCHING", at, reason: outcome.reason, failReleaseReason: `${RELEASE.failed}: ${outcome.reason}`,
    refundReason: "deposit refunded", why: "deployment failed", refundReleaseReason: `${RELEASE.failed}: refunded`,
  });
  if (!result.failed.changed) throw new StateMoved();
  if (result.failed.event) await publishSafely(deps.publish, result.failed.event);
  await Promise.allSettled(result.failed.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "deployment failed")));
  deps.logger.warn({ cluster: cluster.id, reason: outcome.reason }, "deployment failed");
  if (!result.refunded.changed) return { status: null, reason: outcome.reason };
  if (result.refunded.event) await publishSafely(deps.publish, result.refunded.event);
  await deps.schedule.leaseChanged(cluster.id);
  deps.logger.info({ cluster: cluster.id, refund: result.refund.amount.toString() }, "failed deployment refunded");
  return { status: "REFUNDED", reason: outcome.reason };
}

/**
 * Places and reserves the GPUs a cluster is missing (all of them, or a lost node's share). In
 * MATCHING mode the reservation commits with the move to DEPLOYING; in DEGRADED mode the status
 * stays (the cluster keeps running on its other nodes) and the row lock alone serializes writers.
 */
async function reserveMissing(
  deps: DeployDeps,
  cluster: ClusterRow,
  at: Date,
  mode: "MATCHING" | "DEGRADED",
  /** The cluster has just left PAID in this run: it holds no allocation, none to read. */
  fresh = false,
): Promise<{ ok: true; moved?: boolean; active?: ActiveAllocation[] } | { ok: false; reason: string; contended?: boolean }> {
  const { db, config } = deps;
  const allocations = fresh ? [] : await db.allocation.findMany({ where: { clusterId: cluster.id }, select: { deviceId: true, gpuCount: true, status: true } });
  const active = allocations.filter((a) => a.status === "ACTIVE");
  const heldGpus = active.reduce((sum, a) => sum + a.gpuCount, 0);
  const needed = cluster.gpuCount - heldGpus;
  const replacing = heldGpus > 0 || mode === "DEGRADED";
  if (needed <= 0) {
    if (mode === "MATCHING") await transition(deps, cluster.id, "DEPLOYING", `${active.length} device(s) reserved${cluster.quoteExpiresAt ? " (held by the quote)" : ""}`, "MATCHING");
    return { ok: true };
  }
  // Devices this cluster already holds or gave up (refused, timed out, went offline) are not candidates again.
  const exclude = new Set(allocations.map((a) => a.deviceId));
  // A replacement in a running lease only needs to cover the rest of it.
  const endsAt = mode === "DEGRADED" && cluster.endsAt ? cluster.endsAt : leaseEnd(cluster, at, config);
  if (endsAt <= at) return { ok: false, reason: "lease is over" };
  // A quoted cluster pays one rate per GPU (pricing.ts): a replacement must not ask more than that, or
  // it would be paid below its ask.
  const query = { cluster: withPaidCap(cluster), gpuCount: needed, startsAt: at, endsAt, excludeDeviceIds: exclude, minVerificationScoreBps: config.minVerificationScoreBps };
  const reservation: ReservationContext = { cluster, at, endsAt, mode, replacing, needed, heldGpus };
  const noPlacement = (reason: string) => ({ ok: false as const, reason: `no placement${replacing ? " for a replacement" : ""}: ${reason}` });
  if (deps.placement?.ready) {
    const fromIndex = await reserveFromIndex(deps, deps.placement, query, reservation);
    if (fromIndex !== null) return fromIndex.ok || fromIndex.contended ? fromIndex : noPlacement(fromIndex.reason);
    // The feed was lost mid-way: read candidates instead.
  }
  const inflight = deps.inflight ?? new Set<string>();
  // Candidates are read once per round; a re-match after a lost race places among them again without
  // the losers (the next reservation's pre-check reports anything else taken since the read).
  const read = () => loadPlacement(db, query);
  let loaded = await read();
  if (!loaded.ok) return noPlacement(loaded.reason);
  let stale = false;
  for (let attempt = 1; attempt <= config.maxReserveAttempts; attempt++) {
    if (stale) {
      // Devices were reserved by others since the read: others probably were too (everybody wants the
      // cheapest); read again rather than discover them one lost race at a time.
      const again = await read();
      if (!again.ok) return noPlacement(again.reason);
      loaded = again;
      stale = false;
    }
    const busy = new Set([...exclude, ...inflight]);
    const placement = placeAmong(loaded, busy);
    if (!placement.ok) {
      // Only devices our own other jobs are reserving were missing: not a verdict on capacity yet. But
      // when no placement exists even with those devices, their outcome cannot help: fail now rather
      // than back off and retry for nothing (that made the tail of the benchmark wait for minutes).
      if ([...inflight].some((id) => !exclude.has(id)) && placeAmong(loaded, exclude).ok) {
        return { ok: false, contended: true, reason: `waiting for concurrent reservations: ${placement.reason}` };
      }
      return noPlacement(placement.reason);
    }
    for (const device of placement.devices) inflight.add(device.deviceId);
    try {
      const attempted = await attemptReservation(deps, reservation, placement.devices, attempt);
      if (attempted.ok) return attempted;
      for (const id of attempted.lost.deviceIds) exclude.add(id);
      if (attempted.lost.deviceIds.some((id) => attempted.lost.reasons[id] === "reserved")) stale = true;
    } finally {
      for (const device of placement.devices) inflight.delete(device.deviceId);
    }
  }
  return { ok: false, contended: true, reason: `could not reserve devices after ${config.maxReserveAttempts} attempts (lost every race)` };
}

type ReserveOutcome = { ok: true; moved?: boolean; active?: ActiveAllocation[] } | { ok: false; reason: string; contended?: boolean };

interface ReservationContext {
  cluster: ClusterRow;
  at: Date;
  endsAt: Date;
  mode: "MATCHING" | "DEGRADED";
  replacing: boolean;
  needed: number;
  heldGpus: number;
}

/** How long a deploy round waits for this process's other reservations before it is retried with backoff. */
const CONTENDED_WAIT_MS = 2_000;

/**
 * Places from this process's live index (no candidate read) and reserves; a device lost to another
 * process is marked taken there and the next attempt places without it. Null when the index stopped
 * being ready before anything was reserved.
 */
async function reserveFromIndex(
  deps: DeployDeps,
  live: LivePlacement,
  query: PlacementQuery & { excludeDeviceIds: Set<string> },
  reservation: ReservationContext,
): Promise<ReserveOutcome | null> {
  const waitUntil = Date.now() + CONTENDED_WAIT_MS;
  for (let attempt = 1; attempt <= deps.config.maxReserveAttempts; ) {
    const placed = live.place(query);
    if (placed === null) return null;
    if (!placed.ok) {
      if (!placed.contended) return { ok: false, reason: placed.reason };
      // Only this process's own in-flight reservations stand in the way: wait for one to settle and
      // place again (if it fails, its devices are free for us), rather than fail the job into a backoff.
      const left = waitUntil - Date.now();
      if (left <= 0) return { ok: false, contended: true, reason: `waiting for concurrent reservations: ${placed.reason}` };
      await live.holdsSettled(left);
      continue;
    }
    try {
      const attempted = await attemptReservation(deps, reservation, placed.devices, attempt++);
      if (attempted.ok) {
        // Before the hold is released, so no job of this process sees the devices free in between.
        live.markTaken(placed.devices.map((d) => d.deviceId));
        return attempted;
      }
      const { deviceIds, reasons } = attempted.lost;
      live.lostRace(deviceIds, reasons);
      for (const id of deviceIds) query.excludeDeviceIds.add(id);
    } finally {
      placed.release();
    }
  }
  return { ok: false, contended: true, reason: `could not reserve devices after ${deps.config.maxReserveAttempts} attempts (lost every race)` };
}

/**
 * One reservation of `devices` (gpumesh_reserve_gang, one statement): lock the cluster row, check it is
 * still in `mode` and holds the GPUs we saw (nobody else reserved for it since we looked), try-lock and
 * pre-check the devices, insert the gang; for MATCHING with the move to DEPLOYING and its event. The
 * exclusion constraint stays the final guard. A lost race comes back as the devices lost and why.
 */
async function attemptReservation(
  deps: DeployDeps,
  r: ReservationContext,
  devices: PlacedDevice[],
  attempt: number,
): Promise<{ ok: true; moved: boolean; active?: ActiveAllocation[] } | { ok: false; lost: DeviceUnavailableError }> {
  const input: GangReservation = { clusterId: r.cluster.id, devices, startsAt: r.at, endsAt: r.endsAt };
  try {
    const result = await reserveGang(deps.db, {
      ...input,
      expected: r.mode,
      reason: `${r.replacing ? "replacement: " : ""}${devices.length} device(s), ${r.needed} GPU(s) reserved`,
      at: r.at,
      heldGpus: r.heldGpus,
    });
    if (result.outcome === "moved") throw new StateMoved();
    deps.metrics?.gangReserved(devices.length, r.replacing);
    if (result.event) await publishSafely(deps.publish, result.event);
    // A cluster that held nothing now holds exactly this gang: the next step need not read it back.
    const active = r.heldGpus === 0
      ? result.allocations.map((a) => ({ id: a.id, deviceId: a.deviceId, gpuCount: devices.find((d) => d.deviceId === a.deviceId)!.gpuCount, startsAt: r.at, endsAt: r.endsAt, acknowledgedAt: null }))
      : undefined;
    return { ok: true, moved: result.event !== null, ...(active ? { active } : {}) };
  } catch (error) {
    const lost = await reservationFailure(deps.db, input, error);
    if (!lost) throw error;
    deps.metrics?.reservationRaceLost();
    deps.logger.debug({ cluster: r.cluster.id, attempt, lost: lost.deviceIds.length }, "lost a reservation race: re-matching without those devices");
    return { ok: false, lost };
  }
}

/** A quoted cluster's placement cap: the lower of the renter's cap and the per GPU-hour price it pays. */
function withPaidCap(cluster: ClusterRow): ClusterRow {
  if (!cluster.quoteExpiresAt || cluster.gpuCount <= 0) return cluster;
  const paid = (cluster.pricePerSecond / BigInt(cluster.gpuCount)) * 3_600n;
  const cap = cluster.maxPricePerGpuHour === null || paid < cluster.maxPricePerGpuHour ? paid : cluster.maxPricePerGpuHour;
  return { ...cluster, maxPricePerGpuHour: cap };
}

/** Hands out (again) the assignments not yet acknowledged and arms their deadlines. */
async function sendAssignments(deps: DeployDeps, cluster: ClusterRow, pending: { id: string; deviceId: string; gpuCount: number; startsAt: Date; endsAt: Date }[]): Promise<void> {
  // Agents dedupe by allocation id, so a resumed worker can resend without knowing whether the first
  // send happened. A RAY cluster's roles are fixed before the first send and read back on every resend.
  const ray = cluster.type === "RAY" ? await rayRoles(deps.db, cluster.id) : undefined;
  // Checked when the quote was made (core Workload); parsed again so a bad row fails loudly here. Its env
  // values are opened here only to be sealed to each device's agent key: outboxes and gateways see ciphertext.
  const workload = cluster.workload ? openStoredWorkload(cluster.workload, cluster.id, deps.workloadSecretsKey) : undefined;
  const agentKeys = workload?.env && Object.keys(workload.env).length > 0 ? await devicePublicKeys(deps.db, pending.map((a) => a.deviceId)) : undefined;
  for (const allocation of pending) {
    const role = ray?.roles.get(allocation.id);
    const agentKey = agentKeys?.get(allocation.deviceId);
    if (agentKeys && !agentKey) {
      // No key, no agent: a device without one cannot connect, so nothing could ack. Its deadline replaces it.
      deps.logger.warn({ cluster: cluster.id, allocation: allocation.id, device: allocation.deviceId }, "device has no agent key to seal the workload's env to: not assigned");
      await deps.schedule.ackDeadline(cluster.id, allocation.id, new Date(allocation.startsAt.getTime() + deps.config.ackTimeoutMs));
      continue;
    }
    await deps.agents.assign(allocation.deviceId, {
      allocationId: allocation.id,
      clusterId: cluster.id,
      deviceId: allocation.deviceId,
      clusterType: cluster.type,
      gpuCount: allocation.gpuCount,
      startsAt: allocation.startsAt.toISOString(),
      endsAt: allocation.endsAt.toISOString(),
      ...(workload ? { workload: sealWorkload(workload, agentKey, { deviceId: allocation.deviceId, allocationId: allocation.id }) } : {}),
      ...(role === "HEAD" ? { ray: { role: "head" as const } } : role === "WORKER" && ray?.headAllocationId ? { ray: { role: "worker" as const, headAllocationId: ray.headAllocationId } } : {}),
    });
    await deps.schedule.ackDeadline(cluster.id, allocation.id, new Date(allocation.startsAt.getTime() + deps.config.ackTimeoutMs));
  }
}

/** The agent keys (base58 ed25519) of these devices, where they have one. */
async function devicePublicKeys(db: Db, deviceIds: string[]): Promise<Map<string, string>> {
  const rows = await db.device.findMany({ where: { id: { in: deviceIds } }, select: { id: true, agentPublicKey: true } });
  return new Map(rows.flatMap((row) => (row.agentPublicKey ? [[row.id, row.agentPublicKey] as const] : [])));
}

/** Releases unacknowledged allocations past their deadline; true when it released any. */
async function expireSilent(deps: DeployDeps, clusterId: string, active: { id: string; deviceId: string; acknowledgedAt: Date | null; startsAt: Date }[], at: Date): Promise<boolean> {
  const expired = active.filter((a) => a.acknowledgedAt === null && a.startsAt.getTime() + deps.config.ackTimeoutMs <= at.getTime());
  if (!expired.length) return false;
  await releaseAllocations(deps.db, clusterId, `${RELEASE.ackTimeout}: no acknowledgement within ${deps.config.ackTimeoutMs / 1000}s`, at, { allocationIds: expired.map((a) => a.id) });
  await Promise.allSettled(expired.map((a) => deps.agents.revoke(a.deviceId, a.id, "acknowledgement deadline passed")));
  return true;
}

async function lostNodes(db: Db, clusterId: string, since: Date | null) {
  return db.allocation.findMany({
    where: { clusterId, status: "RELEASED", OR: LOST_NODE, ...(since ? { releasedAt: { gte: since } } : {}) },
    select: { releaseReason: true },
    orderBy: { releasedAt: "desc" },
  });
}

/**
 * DEGRADED: a node of a running cluster was lost. Reserve a replacement and wait for its ack (then
 * back to RUNNING); when none can be had, or the replacement budget is spent, end the lease early:
 * the end job settles the time used and refunds the rest (pro rata).
 */
async function degraded(deps: DeployDeps, cluster: ClusterRow, at: Date): Promise<DeployOutcome | null> {
  const active = await deps.db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, orderBy: { deviceId: "asc" } });
  if (await expireSilent(deps, cluster.id, active, at)) return null;
  const heldGpus = active.reduce((sum, a) => sum + a.gpuCount, 0);
  if (heldGpus < cluster.gpuCount) {
    const lost = await lostNodes(deps.db, cluster.id, cluster.startedAt);
    const reserved = lost.length <= deps.config.maxReplacements ? await reserveMissing(deps, cluster, at, "DEGRADED") : { ok: false as const, reason: `replaced ${deps.config.maxReplacements} node(s) already` };
    if (reserved.ok) return null;
    if ("contended" in reserved && reserved.contended) throw new ReservationContendedError(cluster.id, deps.config.maxReserveAttempts);
    const reason = `no replacement for a lost node (${reserved.reason}): ending early, unused time refunded`;
    await deps.schedule.endEarly(cluster.id, reason);
    return { state: "ending", reason };
  }
  const pending = active.filter((a) => a.acknowledgedAt === null);
  if (pending.length === 0) {
    await transition(deps, cluster.id, "RUNNING", `replacement acknowledged: all ${active.length} node(s) serving`, "DEGRADED");
    await deps.schedule.leaseChanged(cluster.id);
    return { state: "running" };
  }
  if (!(await assignOrGiveUp(deps, cluster, pending))) {
    const reason = `${UNOPENABLE_ENV}: ending early, unused time refunded`;
    await deps.schedule.endEarly(cluster.id, reason);
    return { state: "ending", reason };
  }
  return { state: "waiting-acks", pending: pending.length };
}

/**
 * A node of a deploying or running cluster went offline (health sweep): release it and let the
 * workflow replace it. Idempotent: a second call finds the allocation released and the status set.
 */
export async function handleNodeLost(deps: DeployDeps, clusterId: string, allocationId: string, why: string): Promise<DeployOutcome> {
  const at = (deps.now ?? (() => new Date()))();
  const result = await deps.db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ status: ClusterStatus }[]>`select status::text as status from cluster where id = ${clusterId}::uuid for update`;
    const released = await releaseAllocations(tx, clusterId, `${RELEASE.offline}: ${why}`, at, { allocationIds: [allocationId] });
    if (row?.status === "RUNNING" && released.length) {
      return transitionClusterInTx(tx, clusterId, "DEGRADED", `node lost: ${why}`, { expectedFrom: "RUNNING", at });
    }
    return null;
  });
  if (result?.event) await publishSafely(deps.publish, result.event);
  await deps.schedule.leaseChanged(clusterId);
  return advanceDeploy(deps, clusterId);
}

/** DEPLOYING: time out silent agents, replace lost nodes, (re)send assignments, or go RUNNING. Returns when it must wait. */
async function deploying(deps: DeployDeps, cluster: ClusterRow, at: Date, known?: ActiveAllocation[]): Promise<DeployOutcome | null> {
  const { db, config } = deps;
  const active: ActiveAllocation[] = known ?? (await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, orderBy: { deviceId: "asc" } }));
  if (await expireSilent(deps, cluster.id, active, at)) return null;

  const heldGpus = active.reduce((sum, a) => sum + a.gpuCount, 0);
  if (heldGpus < cluster.gpuCount) {
    const lost = await lostNodes(db, cluster.id, null);
    if (lost.length > config.maxReplacements) {
      await failDeploy(deps, cluster.id, `gave up after replacing ${config.maxReplacements} node(s); last: ${lost[0]?.releaseReason ?? "?"}`, at, "DEPLOYING");
      return null;
    }
    const result = await db.$transaction(async (tx) => {
      const moved = await transitionClusterInTx(tx, cluster.id, "MATCHING", `replacing ${cluster.gpuCount - heldGpus} GPU(s): ${lost[0]?.releaseReason ?? "node lost"}`, { expectedFrom: "DEPLOYING", at });
      if (!moved.changed) throw new StateMoved();
      // Re-check under the lock, as for RUNNING: a concurrent job may have reserved the replacement
      // since we read; going back to MATCHING then would start a replacement round for nothing.
      const held = await tx.allocation.aggregate({ where: { clusterId: cluster.id, status: "ACTIVE" }, _sum: { gpuCount: true } });
      if ((held._sum.gpuCount ?? 0) >= cluster.gpuCount) throw new StateMoved();
      return moved;
    });
    if (result.event) await publishSafely(deps.publish, result.event);
    return null;
  }

  const pending = active.filter((a) => a.acknowledgedAt === null);
  if (pending.length === 0) {
    const endsAt = new Date(at.getTime() + cluster.durationHours * 3_600_000);
    const result = await db.$transaction(async (tx) => {
      const moved = await transitionClusterInTx(tx, cluster.id, "RUNNING", `all ${active.length} node(s) acknowledged`, { expectedFrom: "DEPLOYING", at, data: { endsAt } });
      if (!moved.changed) throw new StateMoved();
      // Re-check under the lock: a refusal may have released a node since we read.
      const acked = await tx.allocation.aggregate({ where: { clusterId: cluster.id, status: "ACTIVE", acknowledgedAt: { not: null } }, _sum: { gpuCount: true } });
      const unacked = await tx.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE", acknowledgedAt: null } });
      if (unacked > 0 || (acked._sum.gpuCount ?? 0) !== cluster.gpuCount) throw new StateMoved();
      // The lease runs from now: allocations cover exactly [reserved, endsAt). The exclusion constraint
      // still guards the (rare) extension case.
      await tx.allocation.updateMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, data: { endsAt } });
      return moved;
    });
    if (result.event) await publishSafely(deps.publish, result.event);
    await deps.schedule.running(cluster.id, endsAt);
    await deps.schedule.leaseChanged(cluster.id);
    return { state: "running" };
  }

  if (!(await assignOrGiveUp(deps, cluster, pending))) {
    await failDeploy(deps, cluster.id, UNOPENABLE_ENV, at, "DEPLOYING");
    return null;
  }
  return { state: "waiting-acks", pending: pending.length };
}

/** What the renter reads when the workload's sealed env cannot be opened (the detail goes to the log only). */
const UNOPENABLE_ENV = "the workload's secret environment could not be opened (a server key problem on GPUMesh's side)";

/**
 * Sends the assignments; false when the workload's env, sealed at rest, does not open with this
 * scheduler's WORKLOAD_SECRETS_KEY (another key, none, or an altered row). No retry can fix that
 * while the key stays as it is, and the devices are held meanwhile: the caller stops the deployment
 * (refunded in full) or ends the lease early, rather than leaving the cluster retrying for ever.
 */
async function assignOrGiveUp(deps: DeployDeps, cluster: ClusterRow, pending: ActiveAllocation[]): Promise<boolean> {
  try {
    await sendAssignments(deps, cluster, pending);
    return true;
  } catch (error) {
    if (!(error instanceof WorkloadSecretsError)) throw error;
    deps.logger.error({ cluster: cluster.id, err: error.message }, "workload env cannot be opened: giving up on the deployment");
    return false;
  }
}

/** Records an agent's answer (idempotent) and moves the workflow on. */
export async function handleAgentResponse(deps: DeployDeps, response: AgentResponse): Promise<DeployOutcome> {
  const at = new Date(response.at);
  if (response.accepted) {
    const acked = await deps.db.allocation.updateMany({
      where: { id: response.allocationId, clusterId: response.clusterId, status: "ACTIVE", acknowledgedAt: null },
      data: { acknowledgedAt: at },
    });
    // An ack for an allocation released meanwhile (the renter terminated, the deployment failed while
    // its assignment was in flight): the device must not keep serving a cluster that let it go.
    if (acked.count === 0) {
      const allocation = await deps.db.allocation.findFirst({ where: { id: response.allocationId, clusterId: response.clusterId, status: "RELEASED" }, select: { deviceId: true } });
      if (allocation) await Promise.allSettled([deps.agents.revoke(allocation.deviceId, response.allocationId, "allocation released before it was acknowledged")]);
    }
  } else {
    await releaseAllocations(deps.db, response.clusterId, `${RELEASE.refused}: ${response.reason ?? "no reason given"}`, at, { allocationIds: [response.allocationId] });
  }
  return advanceDeploy(deps, response.clusterId);
}

/** Releases everything and marks the cluster FAILED (one statement); the next step refunds it. */
async function failDeploy(deps: DeployDeps, clusterId: string, reason: string, at: Date, expectedFrom: ClusterStatus): Promise<void> {
  const moved = await transitionCluster(deps.db, clusterId, "FAILED", reason, { expectedFrom, at, releaseReason: `${RELEASE.failed}: ${reason}`, publish: deps.publish });
  if (!moved.changed) throw new StateMoved();
  await Promise.allSettled(moved.released.map((a) => deps.agents.revoke(a.deviceId, a.id, "deployment failed")));
  deps.logger.warn({ cluster: clusterId, reason }, "deployment failed");
}

/**
 * FAILED → REFUNDED with the refund journal (deposit − Σ settled, i.e. all of it), in one statement.
 * False when another worker got there first (re-read).
 */
async function refundFailed(deps: DeployDeps, cluster: ClusterRow, at: Date): Promise<boolean> {
  const result = await refundFailedSql(deps.db, cluster, { at, reason: "deposit refunded", why: "deployment failed", releaseReason: `${RELEASE.failed}: refunded` });
  if (!result.changed) return false;
  if (result.event) await publishSafely(deps.publish, result.event);
  await deps.schedule.leaseChanged(cluster.id);
  deps.logger.info({ cluster: cluster.id, refund: result.refund.amount.toString() }, "failed deployment refunded");
  return true;
}
