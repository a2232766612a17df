import { createHash, randomBytes } from "node:crypto";
import {
  checkCommitment,
  GemmCommitment,
  GemmOpening,
  nextVerificationScore,
  sampleRows,
  verdictReason,
  verifyOpening,
  type ChallengeOutcome,
  type IssuedChallenge,
} from "@gpumesh/core";
import type { Db } from "@gpumesh/db";
import { jobs, type JobSpec, type ParsedJob } from "@gpumesh/queue";
import { isProvenCheating } from "./slash.ts";
import type { Logger } from "pino";
import { z } from "zod";
import type { AgentChannel } from "../agents.ts";

/**
 * The verify queue: periodic proof-of-physical-work challenges per device (DESIGN.md, "Verification
 * of supplied hardware"; protocol and checks in @gpumesh/core's verification module).
 *
 * Lifecycle of a VerificationChallenge row, all transitions conditional on `status = 'PENDING'` so
 * that every job can run any number of times:
 *
 *   sweep       → PENDING (seed, n, deadline), then a `deliver` job and a delayed `expire` job
 *   commitment  → stores root, elapsedMs, respondedAt and the sampled rows (drawn now, after the
 *                 root is fixed), asks the agent for them; or FAILED on a mismatch or implausible time
 *   opening     → PASSED or FAILED (failureReason = "code: detail")
 *   expire      → EXPIRED once the deadline passed without a verdict
 *
 * Closing a challenge moves the device's score in the same transaction (core's
 * nextVerificationScore), so a score changes exactly once per challenge.
 *
 * Who is challenged: ONLINE and REGISTERED devices, once per period of VERIFY_EVERY_S. Each device
 * has a fixed phase in the period (from a hash of its id), so a large network's challenges spread
 * evenly over the period instead of all falling due together; a device is due when it has no
 * challenge since its current period began (nor one pending, nor one in the last half period, so a
 * backlog cannot make two arrive back to back). A sweep issues at most VERIFY_BATCH; the rest stay
 * due for the next sweep. The challenge id derives from (device, period), so two sweeps racing over
 * the same device insert one row.
 */
export interface VerifyConfig {
  everyMs: number;
  deadlineMs: number;
  matrixSize: number;
  sampledRows: number;
  batch: number;
  /**
   * With a chain, a device only becomes rentable (REGISTERED → ONLINE) once its supplier is
   * registered on-chain: leases allocate to the on-chain supplier record (add_allocation), so a lease
   * on an unregistered supplier's device could not be settled. Passing devices wait verified; the
   * web app promotes them when the supplier registers (services/supply/registration.ts).
   */
  requireOnChainSupplier?: boolean;
}

export interface VerifyScheduling {
  /** Ensures a job that hands each challenge to its device (idempotent per challenge id). */
  deliver(challengeIds: string[]): Promise<void>;
  /** Ensures a job that expires each challenge just after its deadline. */
  expire(challenges: { id: string; deadlineAt: Date }[]): Promise<void>;
  /** Ensures the slash of a device that failed this challenge with proof of cheating (only with a chain). */
  slash?(challengeId: string): Promise<void>;
}

export interface VerifyDeps {
  db: Db;
  agents: AgentChannel;
  schedule: VerifyScheduling;
  config: VerifyConfig;
  logger: Logger;
  now?: () => Date;
}

export type ChallengeRow = NonNullable<Awaited<ReturnType<Db["verificationChallenge"]["findUnique"]>>>;

/** A deterministic RFC 9562 version-8 UUID for (device, period length, period index). */
export function challengeIdFor(deviceId: string, everyMs: number, periodIndex: bigint): string {
  const hex = createHash("sha256").update(`gpumesh/verify/${deviceId}/${everyMs}/${periodIndex}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function issued(row: ChallengeRow): IssuedChallenge {
  return { challengeId: row.id, deviceId: row.deviceId, kind: row.kind, seed: row.seed, matrixSize: row.matrixSize };
}

export interface SweepResult {
  issued: number;
  expired: number;
  delivering: number;
  skipped?: string;
  pruned?: number;
}

/**
 * How long closed challenges are kept (the evidence suppliers and the explorer read, and what reward
 * epochs look back on, which is hours). At one challenge per device per hour, 1M devices add 24M rows a
 * day: unbounded history would grow with the network forever.
 */
export const CHALLENGE_RETENTION_MS = 30 * 86_400_000;
const PRUNE_BATCH = 5_000;

/** Deletes up to PRUNE_BATCH closed challenges issued before `before` (oldest first, index on issued_at). */
export async function pruneChallengeHistory(db: VerifyDeps["db"], before: Date): Promise<number> {
  return db.$executeRaw`
    delete from verification_challenge
     where id in (select id from verification_challenge where issued_at < ${before} and status <> 'PENDING' order by issued_at limit ${PRUNE_BATCH})`;
}

/** The repeating job: expire overdue challenges, issue due ones, (re)deliver pending ones, prune old history. */
export async function sweepVerification(deps: VerifyDeps): Promise<SweepResult> {
  const now = (deps.now ?? (() => new Date()))();
  // Recovery for lost or early `expire` jobs; each close is conditional, so racing the job is safe.
  const overdue = await deps.db.verificationChallenge.findMany({
    where: { status: "PENDING", deadlineAt: { lt: now } },
    select: { id: true },
    take: deps.config.batch,
  });
  let expired = 0;
  for (const { id } of overdue) if ((await expireChallenge(deps, id)).state === "expired") expired++;

  if (!deps.agents.challenge) return { issued: 0, expired, delivering: 0, skipped: "the agent channel cannot carry challenges" };
  const fresh = await issueDueChallenges(deps, now);
  // Pending challenges without a commitment get their delivery ensured again: the ids dedupe, so
  // this only does something where a crash fell between the insert and the enqueue.
  const undelivered = await deps.db.verificationChallenge.findMany({
    where: { status: "PENDING", commitment: null, deadlineAt: { gt: now } },
    select: { id: true },
    take: deps.config.batch,
  });
  const ids = [...new Set([...fresh.map((c) => c.id), ...undelivered.map((c) => c.id)])];
  await deps.schedule.deliver(ids);
  const pruned = await pruneChallengeHistory(deps.db, new Date(now.getTime() - CHALLENGE_RETENTION_MS));
  return { issued: fresh.length, expired, delivering: ids.length, ...(pruned ? { pruned } : {}) };
}

/** Devices heard from within this long are challenged (heartbeats every 15 s, rollups every 30 s). */
const SEEN_WITHIN_MS = 5 * 60_000;
const UNSEEN_RETRY_MS = 5 * 60_000;

/** Inserts this sweep's challenges (at most `batch`) and schedules their delivery and deadline. */
export async function issueDueChallenges(deps: VerifyDeps, now: Date): Promise<{ id: string; deviceId: string; deadlineAt: Date }[]> {
  const { everyMs, batch, deadlineMs, matrixSize } = deps.config;
  const every = BigInt(everyMs);
  const nowMs = BigInt(now.getTime());
  // Only due devices are read (device_challenge_due: an index on next_challenge_at for the eligible
  // states), locked so that racing sweeps take disjoint sets, and moved to their next due time in the
  // same statement: the sweep costs O(devices due), not O(devices). A device with a challenge still
  // open is skipped and stays due. phase ∈ [0, every): 48 bits of md5(id), which spreads devices over
  // the period; the next due time is the start of the device's next period, and never sooner than half
  // a period from now (a device challenged late in its period is not challenged again at once).
  // Moving the due times and inserting the challenges is one transaction: a crash between the two would
  // otherwise skip those devices for a whole period.
  const created = await deps.db.$transaction(async (tx) => {
    const picked = await tx.$queryRaw<{ id: string; gpu_model_id: string | null; gpu_count: number; period_index: bigint; seen: boolean }[]>`
      with picked as (
        select d.id, ph.phase, coalesce(d.last_heartbeat_at > ${new Date(now.getTime() - SEEN_WITHIN_MS)}, false) as seen
          from device d
          cross join lateral (select ('x' || substr(md5(d.id::text), 1, 12))::bit(48)::bigint % ${every}::bigint as phase) ph
         where d.status in ('ONLINE', 'REGISTERED')
           and d.next_challenge_at <= ${now}
           and not exists (select 1 from verification_challenge c where c.device_id = d.id and c.status = 'PENDING')
         order by d.next_challenge_at
         limit ${batch}
         for update of d skip locked),
      timed as (
        select id, seen, (${nowMs}::bigint - phase) / ${every}::bigint as period_index, phase from picked)
      update device d
         set next_challenge_at = case when t.seen then greatest(
               to_timestamp(((t.period_index + 1) * ${every}::bigint + t.phase)::double precision / 1000),
               ${new Date(now.getTime() + everyMs / 2)}::timestamptz)
             else ${new Date(now.getTime() + UNSEEN_RETRY_MS)}::timestamptz end
        from timed t
       where d.id = t.id
      returning d.id::text, d.gpu_model_id, d.gpu_count, t.period_index, t.seen`;
    // A device whose agent has not been heard from lately (never connected, gone) is not challenged: the
    // challenge would only wait in its outbox. It is looked at again in UNSEEN_RETRY_MS, and an agent that
    // connects makes its REGISTERED device due at once (markAgentOnline).
    const due = picked.filter((device) => device.seen);
    if (due.length === 0) return [];
    const deadlineAt = new Date(now.getTime() + deadlineMs);
    return tx.verificationChallenge.createManyAndReturn({
      data: due.map((device) => ({
        id: challengeIdFor(device.id, everyMs, BigInt(device.period_index)),
        deviceId: device.id,
        // The rented resource is the GPU: a device with one proves it; a CPU-only device proves its CPU.
        kind: device.gpu_count > 0 && device.gpu_model_id !== null ? ("GPU_GEMM" as const) : ("CPU_GEMM" as const),
        // Fresh verifier randomness per challenge: a seed known in advance could be precomputed.
        seed: randomBytes(32).toString("hex"),
        matrixSize,
        issuedAt: now,
        deadlineAt,
      })),
      skipDuplicates: true,
      select: { id: true, deviceId: true, deadlineAt: true },
    });
  });
  await deps.schedule.expire(created.map((c) => ({ id: c.id, deadlineAt: c.deadlineAt })));
  return created;
}

/** Hands a pending challenge to its device; a no-op once it was answered or closed. */
export async function deliverChallenge(deps: VerifyDeps, challengeId: string): Promise<{ delivered: boolean }> {
  const row = await deps.db.verificationChallenge.findUnique({ where: { id: challengeId } });
  const now = (deps.now ?? (() => new Date()))();
  if (!row || row.status !== "PENDING" || row.commitment !== null || row.deadlineAt <= now || !deps.agents.challenge) return { delivered: false };
  await deps.agents.challenge(row.deviceId, {
    challengeId: row.id,
    deviceId: row.deviceId,
    kind: row.kind,
    seed: row.seed,
    matrixSize: row.matrixSize,
    deadlineAt: row.deadlineAt.toISOString(),
  });
  return { delivered: true };
}

/** Enough of an answer to address it: job ids and the malformed-answer path need no more. */
const AnswerEnvelope = z.object({ type: z.enum(["commitment", "opening"]), challengeId: z.uuid(), deviceId: z.uuid() });

/**
 * The durable job for an agent's answer, or undefined for one that names no challenge. The id is
 * per (challenge, step, device): a retried or duplicated answer is one job, and an answer sent in
 * another device's name (the channel authenticates devices) cannot take the real answer's id.
 * `receivedAt` is stamped on arrival, so a backlog in the queue never makes an answer late.
 */
export function answerJob(answer: unknown, receivedAt: Date): JobSpec | undefined {
  const envelope = AnswerEnvelope.safeParse(answer);
  if (!envelope.success) return undefined;
  const { type, challengeId, deviceId } = envelope.data;
  return jobs.verifyAnswer(type, challengeId, deviceId, answer, receivedAt);
}

export type AnswerOutcome =
  | { state: "ignored"; reason: string }
  | { state: "rows-requested"; rows: number[] }
  | { state: "closed"; status: ChallengeOutcome; reason: string | null; scoreBps: number };

async function loadForAnswer(deps: VerifyDeps, answer: unknown): Promise<{ row: ChallengeRow & { device: { gpuModelId: string | null } } } | { ignored: string }> {
  const envelope = AnswerEnvelope.safeParse(answer);
  if (!envelope.success) return { ignored: "answer names no challenge" };
  const row = await deps.db.verificationChallenge.findUnique({ where: { id: envelope.data.challengeId }, include: { device: { select: { gpuModelId: true } } } });
  // Answers for unknown challenges or from another device are dropped, not held against anyone.
  if (!row || row.deviceId !== envelope.data.deviceId) return { ignored: "no such challenge for this device" };
  if (row.status !== "PENDING") {
    // A retry of the job that closed it on proof of cheating, after the slash was not enqueued: again.
    if (row.status === "FAILED" && isProvenCheating(row.failureReason)) await deps.schedule.slash?.(row.id);
    return { ignored: `challenge already ${row.status.toLowerCase()}` };
  }
  return { row };
}

function closedOutcome(result: CloseResult | undefined, reason: string | null): AnswerOutcome {
  return result ? { state: "closed", status: result.status, reason, scoreBps: result.scoreBps } : { state: "ignored", reason: "challenge closed concurrently" };
}

/**
 * The pending challenge an answer is for, or the outcome when there is nothing to check: an answer
 * to ignore, or one that arrived after the deadline (the challenge expires, with `lateReason`).
 */
async function openAnswer(deps: VerifyDeps, answer: unknown, receivedAt: Date, lateReason: string): Promise<{ row: ChallengeRow & { device: { gpuModelId: string | null } } } | { outcome: AnswerOutcome }> {
  const loaded = await loadForAnswer(deps, answer);
  if ("ignored" in loaded) return { outcome: { state: "ignored", reason: loaded.ignored } };
  if (receivedAt > loaded.row.deadlineAt) return { outcome: closedOutcome(await closeChallenge(deps.db, loaded.row, "EXPIRED", lateReason, receivedAt), lateReason) };
  return loaded;
}

/** The failure reason of an answer that does not parse (stored in a 200-character column). */
function malformedReason(error: z.ZodError): string {
  return `malformed-answer: ${error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`.slice(0, 200);
}

export async function handleCommitment(deps: VerifyDeps, answer: unknown, receivedAt: Date): Promise<AnswerOutcome> {
  const opened = await openAnswer(deps, answer, receivedAt, "commitment arrived after the deadline");
  if ("outcome" in opened) return opened.outcome;
  const { row } = opened;
  const parsed = GemmCommitment.safeParse(answer);
  if (!parsed.success) {
    const reason = malformedReason(parsed.error);
    return closedOutcome(await closeChallenge(deps.db, row, "FAILED", reason, receivedAt, { respondedAt: receivedAt }), reason);
  }
  const commitment = parsed.data;
  if (row.commitment !== null) {
    // A retry of this job after the commitment was stored: ask again for the rows drawn then.
    if (row.commitment !== commitment.root) return { state: "ignored", reason: "a different commitment was already accepted" };
    await requestRows(deps, row, row.sampledRows);
    return { state: "rows-requested", rows: row.sampledRows };
  }
  const verdict = checkCommitment(issued(row), commitment, { observedMs: receivedAt.getTime() - row.issuedAt.getTime(), gpuModelId: row.device.gpuModelId });
  const stored = { commitment: commitment.root, elapsedMs: commitment.elapsedMs, respondedAt: receivedAt };
  if (!verdict.ok) {
    const reason = verdictReason(verdict);
    return closedOutcome(await closeChallenge(deps.db, row, "FAILED", reason, receivedAt, stored), reason);
  }
  // Drawn only now that the root is fixed; stored with it so a retry asks for the same rows.
  const rows = sampleRows(randomBytes(32), row.matrixSize, Math.min(deps.config.sampledRows, row.matrixSize));
  const updated = await deps.db.verificationChallenge.updateMany({ where: { id: row.id, status: "PENDING", commitment: null }, data: { ...stored, sampledRows: rows } });
  if (updated.count === 0) {
    const current = await deps.db.verificationChallenge.findUniqueOrThrow({ where: { id: row.id } });
    if (current.status !== "PENDING" || current.commitment !== commitment.root) return { state: "ignored", reason: "challenge moved concurrently" };
    await requestRows(deps, current, current.sampledRows);
    return { state: "rows-requested", rows: current.sampledRows };
  }
  await requestRows(deps, row, rows);
  return { state: "rows-requested", rows };
}

async function requestRows(deps: VerifyDeps, row: ChallengeRow, rows: number[]): Promise<void> {
  await deps.agents.requestRows?.(row.deviceId, { challengeId: row.id, deviceId: row.deviceId, rows });
}

export async function handleOpening(deps: VerifyDeps, answer: unknown, receivedAt: Date): Promise<AnswerOutcome> {
  const opened = await openAnswer(deps, answer, receivedAt, "rows arrived after the deadline");
  if ("outcome" in opened) return opened.outcome;
  const { row } = opened;
  const parsed = GemmOpening.safeParse(answer);
  const verdictText = !parsed.success
    ? malformedReason(parsed.error)
    : row.commitment === null
      ? "opening-before-commitment: rows arrived before any commitment"
      : verdictReason(verifyOpening(issued(row), { root: row.commitment, sampledRows: row.sampledRows }, parsed.data));
  const status = verdictText === null ? "PASSED" : "FAILED";
  const outcome = closedOutcome(await closeChallenge(deps.db, row, status, verdictText, receivedAt, {}, { requireOnChainSupplier: deps.config.requireOnChainSupplier ?? false }), verdictText);
  // Proof of cheating (a wrong product, or rows of another matrix than the committed one): the stake
  // is slashed by a job of its own (one per challenge). Enqueued after the close; should that fail, the
  // retry of this job finds the challenge closed and enqueues it then (loadForAnswer).
  if (status === "FAILED" && isProvenCheating(verdictText)) await deps.schedule.slash?.(row.id);
  return outcome;
}

export class NotYetDueError extends Error {}

export async function expireChallenge(deps: VerifyDeps, challengeId: string): Promise<{ state: "expired" | "ignored"; reason?: string }> {
  const now = (deps.now ?? (() => new Date()))();
  const row = await deps.db.verificationChallenge.findUnique({ where: { id: challengeId } });
  if (!row || row.status !== "PENDING") return { state: "ignored", reason: row ? `challenge already ${row.status.toLowerCase()}` : "no such challenge" };
  // Fired early (clock skew between processes): fail the job so BullMQ retries it with backoff.
  if (now <= row.deadlineAt) throw new NotYetDueError(`challenge ${challengeId} is due at ${row.deadlineAt.toISOString()}`);
  const reason = row.commitment === null ? "no commitment before the deadline" : "requested rows not opened before the deadline";
  return (await closeChallenge(deps.db, row, "EXPIRED", reason, now)) ? { state: "expired" } : { state: "ignored", reason: "closed concurrently" };
}

interface CloseResult {
  status: ChallengeOutcome;
  scoreBps: number;
  promoted: boolean;
}

/**
 * Closes a PENDING challenge and moves its device's score in one transaction; undefined when the
 * challenge was no longer PENDING (another job closed it first: its score change already happened).
 * A REGISTERED device that passes becomes ONLINE with its heartbeat at the answer's arrival: the
 * answer is proof its agent is alive then, and the health sweep takes it OFFLINE again if no
 * heartbeat follows within DEVICE_OFFLINE_AFTER_S.
 */
export async function closeChallenge(
  db: Db,
  row: Pick<ChallengeRow, "id" | "deviceId">,
  status: ChallengeOutcome,
  failureReason: string | null,
  at: Date,
  extra: { commitment?: string; elapsedMs?: number; respondedAt?: Date } = {},
  options: { requireOnChainSupplier?: boolean } = {},
): Promise<CloseResult | undefined> {
  return db.$transaction(async (tx) => {
    const closed = await tx.verificationChallenge.updateMany({ where: { id: row.id, status: "PENDING" }, data: { status, failureReason, ...extra } });
    if (closed.count === 0) return undefined;
    const [device] = await tx.$queryRaw<{ status: string; verification_score_bps: number; last_heartbeat_at: Date | null; supplier_on_chain: boolean }[]>`
      select d.status::text as status, d.verification_score_bps, d.last_heartbeat_at, s.on_chain_address is not null as supplier_on_chain
        from device d join supplier s on s.id = d.supplier_id where d.id = ${row.deviceId}::uuid for update of d`;
    if (!device) throw new Error(`device ${row.deviceId} of challenge ${row.id} is gone`);
    const scoreBps = nextVerificationScore(device.verification_score_bps, status);
    const promoted = status === "PASSED" && device.status === "REGISTERED" && (device.supplier_on_chain || !options.requireOnChainSupplier);
    await tx.device.update({
      where: { id: row.deviceId },
      data: {
        verificationScoreBps: scoreBps,
        ...(status === "PASSED" ? { verifiedAt: at } : {}),
        ...(promoted ? { status: "ONLINE" as const, lastHeartbeatAt: device.last_heartbeat_at && device.last_heartbeat_at > at ? device.last_heartbeat_at : at } : {}),
      },
    });
    return { status, scoreBps, promoted };
  });
}

/** The verify worker's dispatch, for a job parsed with `parseJob(QUEUES.verify, …)`. */
export async function processVerifyJob(deps: VerifyDeps, job: ParsedJob<"verify">): Promise<unknown> {
  switch (job.name) {
    case "sweep":
      return sweepVerification(deps);
    case "deliver":
      return deliverChallenge(deps, job.data.challengeId);
    case "commitment":
    case "opening": {
      const { answer, receivedAt } = job.data;
      const outcome = job.name === "commitment" ? await handleCommitment(deps, answer, new Date(receivedAt)) : await handleOpening(deps, answer, new Date(receivedAt));
      if (outcome.state === "closed" && outcome.status !== "PASSED") deps.logger.info({ challenge: (answer as { challengeId?: string }).challengeId, status: outcome.status, reason: outcome.reason }, "verification challenge not passed");
      return outcome;
    }
    case "expire":
      return expireChallenge(deps, job.data.challengeId);
  }
}
