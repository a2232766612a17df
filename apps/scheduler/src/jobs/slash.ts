import { createHash } from "node:crypto";
import { fetchDeviceStake, ix, parseEvents } from "@gpumesh/chain";
import type { Db } from "@gpumesh/db";
import type { Logger } from "pino";
import type { ChainContext } from "../chain-context.ts";

/**
 * Automatic slashing on proven cheating (DESIGN.md: "slashed only on proven cheating, and slashed
 * tokens are burned"). Only two verdicts of a proof-of-work challenge prove it, because they rest on
 * the agent's own commitment, not on timing or the network:
 * - `wrong-result`: opened rows that verify against the root the agent committed to, but hold values
 *   that are not A·B (it committed to a wrong product);
 * - `proof-invalid`: opened rows that do not verify against the committed root (it answered with
 *   rows of another matrix than the one it committed to).
 * Slow, late, missing or malformed answers lower the score and the rewards, never the stake.
 *
 * The evidence is the challenge as stored (seed, n, committed root, rows opened, verdict): anyone can
 * re-run it, and its sha256 goes on-chain with the slash. One slash per challenge: the job id is
 * `slash/<challenge>`, and before sending, the stake account's recent transactions are searched for a
 * DeviceStakeSlashed with this evidence hash, so a retry after a crash between sending and finishing
 * never slashes twice.
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
  /** Share of the device's required stake burned per proven cheat, basis points (capped at what is staked). */
  slashBps: number;
}

export type SlashOutcome =
  | { state: "slashed"; amount: string; signature: string }
  | { state: "already-slashed"; signature: string }
  | { state: "not-slashable"; reason: string }
  | { state: "no-stake" };

/** The stored evidence of a challenge, canonically (fixed key order), and its sha256. */
export function challengeEvidence(row: { id: string; deviceId: string; kind: string; seed: string; matrixSize: number; commitment: string | null; sampledRows: number[]; failureReason: string | null }) {
  const text = JSON.stringify({
    challengeId: row.id, deviceId: row.deviceId, kind: row.kind, seed: row.seed, matrixSize: row.matrixSize,
    commitment: row.commitment, sampledRows: row.sampledRows, verdict: row.failureReason,
  });
  return { text, hash: Uint8Array.from(createHash("sha256").update(text).digest()) };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** A slash of this stake carrying `evidenceHash` among its recent transactions, if any. */
async function earlierSlash(chain: ChainContext, stake: Awaited<ReturnType<typeof fetchDeviceStake>> & object, evidenceHash: Uint8Array): Promise<string | null> {
  const signatures = await chain.connection.getSignaturesForAddress(stake.address, { limit: 100 }, "confirmed");
  for (const { signature, err } of signatures) {
    if (err) continue;
    const tx = await chain.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const slashed = parseEvents(tx?.meta?.logMessages ?? [], chain.programId).find((e) => e.name === "DeviceStakeSlashed");
    if (slashed?.name === "DeviceStakeSlashed" && sameBytes(slashed.data.evidenceHash, evidenceHash)) return signature;
  }
  return null;
}

export async function slashForChallenge(deps: SlashDeps, challengeId: string): Promise<SlashOutcome> {
  const { db, chain, logger } = deps;
  const row = await db.verificationChallenge.findUnique({ where: { id: challengeId } });
  if (!row) return { state: "not-slashable", reason: "no such challenge" };
  if (row.status !== "FAILED" || !isProvenCheating(row.failureReason)) return { state: "not-slashable", reason: `challenge ${row.status.toLowerCase()}: ${row.failureReason ?? "no verdict"}` };
  if (deps.slashBps <= 0) return { state: "not-slashable", reason: "slashing is off (SLASH_BPS=0)" };
  const stake = await fetchDeviceStake(chain.connection, row.deviceId, chain.programId);
  if (!stake || stake.amount === 0n) return { state: "no-stake" };
  const evidence = challengeEvidence(row);
  const earlier = await earlierSlash(chain, stake, evidence.hash);
  if (earlier) return { state: "already-slashed", signature: earlier };

  const share = (stake.required * BigInt(deps.slashBps)) / 10_000n;
  const amount = share > stake.amount ? stake.amount : share > 0n ? share : 1n; // a tiny stake still loses a unit
  const { meshMint } = await chain.config();
  const landed = await chain.gateway.sendServerSigned(
    () => [ix.slashStake(chain.settlementAuthority.publicKey, meshMint, { deviceId: row.deviceId, amount, reason: "FailedProof", evidenceHash: evidence.hash }, chain.programId)],
    [chain.settlementAuthority],
  );
  logger.warn({ device: row.deviceId, challenge: row.id, amount: amount.toString(), signature: landed.signature, verdict: row.failureReason }, "stake slashed for proven cheating");
  return { state: "slashed", amount: amount.toString(), signature: landed.signature };
}
