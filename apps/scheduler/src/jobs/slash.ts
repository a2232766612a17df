import { createHash } from "node:crypto";
import { fetchDeviceStake, fetchSlashRecord, ix, pdas, type SlashReason } from "@gpumesh/chain";
import type { Db } from "@gpumesh/db";
import type { Logger } from "pino";
import type { ChainContext } from "../chain-context.ts";

/**
 * Automatic slashing, only on proven cheating (issue #11: "a failed proof of work with its evidence,
 * or a device that vanished mid-lease beyond a grace period"; DESIGN.md: slashed tokens are burned).
 *
 * Failed proof of work (`slashForChallenge`, job `slash/<challenge>`). Only two verdicts of a
 * challenge prove cheating, because they rest on the agent's own commitment, not on timing or the
 * network:
 * - `wrong-result`: opened rows that verify against the root the agent committed to, but hold values
 *   that are not A·B (it committed to a wrong product);
 * - `proof-invalid`: opened rows that do not verify against the committed root (it answered with
 *   rows of another matrix than the one it committed to).
 * Slow, late, missing or malformed answers lower the score and the rewards, never the stake. The
 * evidence is the challenge as stored (seed, n, committed root, rows opened, verdict): anyone can
 * re-run it.
 *
 * Vanished mid-lease (`slashForOutage`, job `slash/outage/<outage>`): a device that was serving a
 * lease (the outage's allocation, recorded by a trigger when it went OFFLINE) and stayed silent longer
 * than VANISH_GRACE_S from its last heartbeat. The evidence is the outage as stored (its id, the
 * device, when it began, the allocation it walked out on). The health sweep enqueues it once per
 * outage (`vanishedOutages`).
 *
 * One slash per piece of evidence, on-chain: `slash_stake` creates the SlashRecord of (stake, sha256 of
 * the evidence) and fails if it exists. Before sending, the record is looked up, and after a failed
 * send it is looked up again, so a retried job, or a second scheduler that lost the race, finds the
 * slash done and reports it instead of failing.
 */

const PROVEN = /^(wrong-result|proof-invalid):/;

/** Whether a challenge's failure reason is proof of cheating (see above). */
export function isProvenCheating(failureReason: string | null): boolean {
  return failureReason !== null && PROVEN.test(failureReason);
}

export interface SlashDeps {
  db: Db;
  chain: ChainContext;
  logger: Logger;
  /** Share of the device's required stake burned per proven offence, basis points (capped at what is staked). */
  slashBps: number;
}

export interface VanishDeps extends SlashDeps {
  /** VANISH_GRACE_S: how long a device serving a lease may stay silent (from its last heartbeat). */
  graceS: number;
  now?: () => Date;
}

/** What a slash job did (strings only: it is the job's JSON return value). */
export type SlashOutcome =
  | { state: "slashed"; amount: string; signature: string; record: string }
  | { state: "already-slashed"; amount: string; slot: string; record: string }
  | { state: "not-slashable"; reason: string }
  | { state: "no-stake" };

/** Evidence: its canonical text (fixed key order) and the sha256 that goes on-chain. */
interface Evidence {
  text: string;
  hash: Uint8Array;
}

const evidenceOf = (record: Record<string, unknown>): Evidence => {
  const text = JSON.stringify(record);
  return { text, hash: Uint8Array.from(createHash("sha256").update(text).digest()) };
};

/** The stored evidence of a challenge, canonically (fixed key order), and its sha256. */
export function challengeEvidence(row: { id: string; deviceId: string; kind: string; seed: string; matrixSize: number; commitment: string | null; sampledRows: number[]; failureReason: string | null }): Evidence {
  return evidenceOf({
    challengeId: row.id, deviceId: row.deviceId, kind: row.kind, seed: row.seed, matrixSize: row.matrixSize,
    commitment: row.commitment, sampledRows: row.sampledRows, verdict: row.failureReason,
  });
}

/**
 * The evidence of a device that vanished mid-lease: the outage as stored, canonically. Only what never
 * changes once the outage is written (not its end, which a device coming back later fills in), so a
 * retry hashes to the same record.
 */
export function outageEvidence(row: { id: bigint; deviceId: string; startedAt: Date; allocationId: string }): Evidence {
  return evidenceOf({ outageId: row.id.toString(), deviceId: row.deviceId, startedAt: row.startedAt.toISOString(), allocationId: row.allocationId });
}

/**
 * Whether an outage is one that slashes: it began while the device served a lease, and lasted longer
 * than the grace period (still open past it, or ended after it). Null while it cannot be told yet.
 */
export function vanishedBeyondGrace(row: { startedAt: Date; endedAt: Date | null; allocationId: string | null; leaseEndsAt?: Date | null }, graceS: number, now: Date): boolean | null {
  if (row.allocationId === null) return false;
  const deadline = row.startedAt.getTime() + graceS * 1000;
  if (row.endedAt !== null && row.endedAt.getTime() <= deadline) return false;
  // Its lease was to end within the grace period anyway: the renter lost less than the grace, not slashable.
  if (row.leaseEndsAt && row.leaseEndsAt.getTime() <= deadline) return false;
  return now.getTime() > deadline ? true : null;
}

/**
 * The health sweep's verdict on the outages it read (`vanishDue`): those to slash (vanished beyond the
 * grace), and those spared because at least `massOutage` devices went silent around the same moment
 * (`silentAround`): then the network or GPUMesh itself is the likelier cause, not the supplier. The
 * rest came back in time (or their lease was ending anyway).
 */
export function slashableOutages<T extends { startedAt: Date; endedAt: Date | null; allocationId: string | null; leaseEndsAt?: Date | null; silentAround: number }>(
  due: readonly T[],
  options: { graceS: number; massOutage: number },
  now: Date,
): { slash: T[]; spared: T[] } {
  const beyond = due.filter((outage) => vanishedBeyondGrace(outage, options.graceS, now));
  return { slash: beyond.filter((outage) => outage.silentAround < options.massOutage), spared: beyond.filter((outage) => outage.silentAround >= options.massOutage) };
}

/**
 * Burns SLASH_BPS of the device's required stake for one offence, at most once per evidence (the
 * SlashRecord). An unstaked device has nothing to slash: logged, not an error.
 */
async function slashOnce(deps: SlashDeps, offence: { deviceId: string; reason: SlashReason; evidence: Evidence; about: Record<string, unknown> }): Promise<SlashOutcome> {
  const { chain, logger } = deps;
  const { deviceId, reason, evidence } = offence;
  const done = async (): Promise<SlashOutcome | null> => {
    const record = await fetchSlashRecord(chain.connection, deviceId, evidence.hash, chain.programId);
    return record && { state: "already-slashed", amount: record.amount.toString(), slot: record.slot.toString(), record: record.address.toBase58() };
  };
  const earlier = await done();
  if (earlier) return earlier;
  const stake = await fetchDeviceStake(chain.connection, deviceId, chain.programId);
  if (!stake || stake.amount === 0n) {
    logger.info({ device: deviceId, reason, ...offence.about }, "not slashed: the device has no stake (nothing to slash)");
    return { state: "no-stake" };
  }

  const share = (stake.required * BigInt(deps.slashBps)) / 10_000n;
  const amount = share > stake.amount ? stake.amount : share > 0n ? share : 1n; // a tiny stake still loses a unit
  const { meshMint } = await chain.config();
  const instruction = ix.slashStake(chain.settlementAuthority.publicKey, meshMint, { deviceId, amount, reason, evidenceHash: evidence.hash }, chain.programId);
  let signature: string;
  try {
    ({ signature } = await chain.gateway.sendServerSigned(() => [instruction], [chain.settlementAuthority]));
  } catch (error) {
    // Another scheduler (or this job's earlier attempt, whose answer was lost) slashed for this evidence
    // in the meantime: the program refused the duplicate, and the record says it is done.
    const raced = await done();
    if (raced) return raced;
    throw error;
  }
  const record = pdas.slashRecord(stake.address, evidence.hash, chain.programId)[0].toBase58();
  logger.warn({ device: deviceId, reason, amount: amount.toString(), signature, ...offence.about }, "stake slashed");
  return { state: "slashed", amount: amount.toString(), signature, record };
}

export async function slashForChallenge(deps: SlashDeps, challengeId: string): Promise<SlashOutcome> {
  const row = await deps.db.verificationChallenge.findUnique({ where: { id: challengeId } });
  if (!row) return { state: "not-slashable", reason: "no such challenge" };
  if (row.status !== "FAILED" || !isProvenCheating(row.failureReason)) return { state: "not-slashable", reason: `challenge ${row.status.toLowerCase()}: ${row.failureReason ?? "no verdict"}` };
  if (deps.slashBps <= 0) return { state: "not-slashable", reason: "slashing is off (SLASH_BPS=0)" };
  return slashOnce(deps, { deviceId: row.deviceId, reason: "FailedProof", evidence: challengeEvidence(row), about: { challenge: row.id, verdict: row.failureReason } });
}

export async function slashForOutage(deps: VanishDeps, outageId: string): Promise<SlashOutcome> {
  const row = await deps.db.deviceOutage.findUnique({ where: { id: BigInt(outageId) }, include: { allocation: { select: { endsAt: true } } } });
  if (!row) return { state: "not-slashable", reason: "no such outage" };
  if (row.allocationId === null) return { state: "not-slashable", reason: "the device was serving no lease when it went offline" };
  const verdict = vanishedBeyondGrace({ ...row, leaseEndsAt: row.allocation?.endsAt ?? null }, deps.graceS, (deps.now ?? (() => new Date()))());
  if (verdict === false) return { state: "not-slashable", reason: `back within the grace period (${deps.graceS} s), or its lease ended within it` };
  // Only a clock behind the sweep's gets here: fail, so the job is retried once the grace has passed.
  if (verdict === null) throw new Error(`outage ${outageId}: the grace period (${deps.graceS} s) has not passed yet`);
  if (deps.slashBps <= 0) return { state: "not-slashable", reason: "slashing is off (VANISH_SLASH_BPS=0)" };
  const evidence = outageEvidence({ ...row, allocationId: row.allocationId });
  return slashOnce(deps, { deviceId: row.deviceId, reason: "VanishedMidLease", evidence, about: { outage: outageId, allocation: row.allocationId, since: row.startedAt.toISOString() } });
}
