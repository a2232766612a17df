import { allocateEpoch, buildEpochTree, decodeClaimantInto, epochPool, epochWindow, isClaimant, SeededRandom, verifyClaim, type DeviceContributionInput, type EpochTree, type EpochWindow } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRewardEpoch, createDb, markRewardEpochPosted, rewardClaimFor, seedSimulatedNetwork, writeMirroredStakes, type Db } from "../src/index.ts";

// Property: over random histories (devices joining mid-hour, outages, failed and expired challenges,
// suspensions, low scores, an unclaimable wallet, skipped hours), the stored form (leaves only where
// a cumulative changed, balances, proofs built on demand) gives exactly what the old method gave:
// every device's input (old per-device lateral query, kept verbatim below), amount and weight, every
// epoch's pool, total and root, and every claimant's cumulative and proof, for the newest epoch and
// for earlier ones. Each proof verifies against its root, and each cumulative is the sum of its
// devices' contributions so far.
let database: TestDatabase;
let db: Db;
const HOUR_S = 3_600;
const MIN_SCORE = 6_000;
const emissionStart = Math.floor(Date.now() / 1000) - 20 * HOUR_S;

/** The inputs query before issue #12 (one lateral outage sum per device), the reference for the set-based one. */
async function oldInputs(window: EpochWindow): Promise<DeviceContributionInput[]> {
  const rows = await db.$queryRaw<{ device_id: string; claimant: string; gpu_count: number; performance_weight_bps: number; online_seconds: number; verified: boolean; staked: boolean }[]>`
    select d.id as device_id, a.wallet_address as claimant, d.gpu_count, g.performance_weight_bps,
           greatest(0, extract(epoch from (${window.end}::timestamptz - greatest(${window.start}::timestamptz, d.created_at)))
                       - coalesce(o.down, 0))::float8 as online_seconds,
           (d.status in ('ONLINE', 'OFFLINE') and d.verification_score_bps >= ${MIN_SCORE}
             and not exists (select 1 from verification_challenge c
                              where c.device_id = d.id and c.status in ('FAILED', 'EXPIRED')
                                and c.issued_at >= ${window.start}::timestamptz and c.issued_at < ${window.end}::timestamptz)) as verified,
           exists (select 1 from device_stake st where st.device_id = d.id and st.status = 'STAKED'
                      and st.amount >= d.gpu_count::bigint * g.performance_weight_bps * 100000) as staked
      from device d
      join gpu_model g on g.id = d.gpu_model_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
      left join lateral (
        select sum(extract(epoch from (least(coalesce(o.ended_at, ${window.end}::timestamptz), ${window.end}::timestamptz)
                                       - greatest(o.started_at, ${window.start}::timestamptz, d.created_at)))) as down
          from device_outage o
         where o.device_id = d.id and o.started_at < ${window.end}::timestamptz
           and (o.ended_at is null or o.ended_at > ${window.start}::timestamptz)
      ) o on true
     where d.gpu_count > 0 and d.created_at < ${window.end}::timestamptz
     order by d.id`;
  return rows.map((r) => ({ deviceId: r.device_id, claimant: r.claimant, gpuCount: r.gpu_count, performanceWeightBps: r.performance_weight_bps, onlineSeconds: Math.max(0, Math.floor(r.online_seconds)), verified: r.verified, staked: r.staked }));
}

const at = (window: EpochWindow, seconds: number) => new Date(window.start.getTime() + seconds * 1000);

/** Random events in `window`: statuses, scores, outages, challenges. */
async function shake(random: SeededRandom, window: EpochWindow, devices: { id: string; supplierId: string }[], nobodyEligible: boolean): Promise<void> {
  // Some suppliers sit an hour out entirely: their cumulative does not change, so no leaf is stored.
  const resting = new Set([...new Set(devices.map((d) => d.supplierId))].filter(() => random.next() < 0.3));
  for (const device of devices) {
    const roll = random.next();
    const status = nobodyEligible || resting.has(device.supplierId) || roll < 0.08 ? "SUSPENDED" : roll < 0.2 ? "OFFLINE" : roll < 0.25 ? "REGISTERED" : "ONLINE";
    await db.device.update({ where: { id: device.id }, data: { status, verificationScoreBps: random.next() < 0.1 ? random.int(0, MIN_SCORE - 1) : random.int(MIN_SCORE, 10_000) } });
  }
  // Stakes as the indexer mirrors them: most full, some unstaking, some slashed below the required, some never staked.
  await db.deviceStake.deleteMany();
  const stakes = { full: [] as string[], unstaking: [] as string[], short: [] as string[] };
  for (const device of devices) {
    const roll = random.next();
    if (roll < 0.7) stakes.full.push(device.id);
    else if (roll < 0.8) stakes.unstaking.push(device.id);
    else if (roll < 0.9) stakes.short.push(device.id);
  }
  await writeMirroredStakes(db, { deviceIds: stakes.full });
  await writeMirroredStakes(db, { deviceIds: stakes.unstaking, status: "UNSTAKING" });
  await writeMirroredStakes(db, { deviceIds: stakes.short, shortBy: 1n });
  // Outages recorded by the trigger above start now (after every window): these are the hour's own.
  await db.deviceOutage.deleteMany({ where: { startedAt: { gte: new Date(Date.now() - 60_000) } } });
  for (let i = 0; i < devices.length / 3; i++) {
    const device = devices[random.int(0, devices.length - 1)]!;
    const from = random.int(-1_200, 3_500);
    await db.deviceOutage.create({ data: { deviceId: device.id, startedAt: at(window, from), endedAt: at(window, from + random.int(1, 2_400)) } });
  }
  for (let i = 0; i < devices.length / 4; i++) {
    const device = devices[random.int(0, devices.length - 1)]!;
    const issued = random.int(-300, 3_700); // some just outside the hour
    await db.verificationChallenge.create({
      data: { deviceId: device.id, kind: "CPU_GEMM", seed: "cd".repeat(32), matrixSize: 64, status: random.pick(["FAILED", "EXPIRED", "PASSED"] as const), issuedAt: at(window, issued), deadlineAt: at(window, issued + 60) },
    });
  }
}

beforeAll(async () => {
  database = await createTestDatabase("rewards_history");
  db = createDb(database.url, { max: 4 });
  await seedSimulatedNetwork(db, { suppliers: 9, devices: 70, seed: 12 });
}, 120_000);

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("reward storage over random histories", () => {
  it("stores only what changed and rebuilds every epoch's amounts, roots and proofs exactly as the full-tree method", async () => {
    const random = new SeededRandom(2026_12_01);
    const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, select: { id: true, supplierId: true }, orderBy: { id: "asc" } });
    // Devices join at random times, some in the middle of an epoch.
    for (const device of devices) await db.device.update({ where: { id: device.id }, data: { createdAt: new Date((emissionStart + random.int(0, 6 * HOUR_S)) * 1000) } });
    // One supplier's wallet is not a public key: left out of every epoch, never failing one.
    const unclaimable = await db.account.findFirstOrThrow({ where: { supplier: { devices: { some: { gpuCount: { gt: 0 } } } } }, orderBy: { id: "asc" } });
    await db.account.update({ where: { id: unclaimable.id }, data: { walletAddress: "not-a-wallet" } });

    const trees = new Map<number, EpochTree>();
    let previous: EpochTree | null = null;
    const skippedLog: string[] = [];
    for (const epoch of [2, 3, 4, 6, 7, 8, 9]) {
      // Hours 1 and 5 are never computed: their emission rolls into the next pool.
      const window = epochWindow(emissionStart, epoch);
      // In hour 7 no device is eligible: nothing is stored but the epoch row, the pool rolls on.
      await shake(random, window, devices, epoch === 7);

      const inputs = (await oldInputs(window)).filter((input) => isClaimant(input.claimant));
      const pool = epochPool(epoch, previous?.total ?? 0n);
      const rewards = allocateEpoch(pool, inputs).filter((r) => r.weight > 0n);
      const expected = buildEpochTree(new Map(previous?.leaves.map((l) => [l.claimant, l.cumulative]) ?? []), rewards);

      const computed = await computeRewardEpoch(db, window, { minVerificationScoreBps: MIN_SCORE, onSkippedClaimant: (wallet) => skippedLog.push(wallet) });
      expect(computed).toMatchObject({ epoch, created: true, pool, root: expected.root, total: expected.total, devicesRewarded: rewards.filter((r) => r.amount > 0n).length });
      const stored = await db.rewardEpoch.findUniqueOrThrow({ where: { epoch } });
      expect({ pool: stored.pool, totalWeight: stored.totalWeight, cumulativeTotal: stored.cumulativeTotal, root: stored.merkleRoot }).toEqual({
        pool,
        totalWeight: rewards.reduce((sum, r) => sum + r.weight, 0n),
        cumulativeTotal: expected.total,
        root: expected.leaves.length ? expected.root : null,
      });

      // Contributions: the same devices, amounts and weights; every share recomputable from the epoch row.
      const contributions = await db.rewardContribution.findMany({ where: { epoch }, orderBy: { deviceId: "asc" } });
      expect(contributions.map((c) => [c.deviceId, c.amount, c.weight, c.uptimeBps])).toEqual(
        [...rewards].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1)).map((r) => [r.deviceId, r.amount, r.weight, r.uptimeBps]),
      );
      for (const c of contributions) {
        expect(c.weight).toBe(c.gpuSeconds * BigInt(c.weightBps));
        const floor = (stored.pool * c.weight) / stored.totalWeight;
        expect(c.amount - floor).toBeGreaterThanOrEqual(0n);
        expect(c.amount - floor).toBeLessThanOrEqual(1n);
      }

      // Leaves: only the claimants whose cumulative changed in this epoch.
      const before = new Map(previous?.leaves.map((l) => [l.claimant, l.cumulative]) ?? []);
      const changed = expected.leaves.filter((l) => before.get(l.claimant) !== l.cumulative).map((l) => [l.claimant, l.cumulative]);
      const leaves = await db.rewardLeaf.findMany({ where: { epoch }, orderBy: { claimant: "asc" } });
      expect(leaves.map((l) => [l.claimant, l.cumulative]).sort()).toEqual(changed.sort());

      await markRewardEpochPosted(db, epoch, null, new Date());
      trees.set(epoch, expected);
      previous = expected;

      // Proofs on demand, for this epoch and every earlier one (the balances have moved on since).
      for (const [t, tree] of trees) {
        const root = Uint8Array.from(Buffer.from(tree.root, "hex"));
        for (const leaf of tree.leaves) {
          const claim = await rewardClaimFor(db, leaf.claimant, t);
          expect(claim).toEqual({ epoch: t, root: tree.root, cumulative: leaf.cumulative, proof: leaf.proof });
          const key = new Uint8Array(32);
          expect(decodeClaimantInto(leaf.claimant, key, 0)).toBe(true);
          expect(verifyClaim(root, { claimant: key, cumulative: claim!.cumulative }, claim!.proof.map((h) => Uint8Array.from(Buffer.from(h, "hex"))))).toBe(true);
        }
        expect(await rewardClaimFor(db, "not-a-wallet", t)).toBeNull();
      }
      // The newest posted epoch is the default.
      if (expected.leaves[0]) expect((await rewardClaimFor(db, expected.leaves[0].claimant))?.epoch).toBe(epoch);

      // Each claimant's cumulative is what its devices earned over every epoch so far.
      const earned = await db.$queryRaw<{ claimant: string; amount: bigint }[]>`
        select a.wallet_address as claimant, sum(c.amount)::bigint as amount
          from reward_contribution c join device d on d.id = c.device_id join supplier s on s.id = d.supplier_id join account a on a.id = s.account_id
         group by a.wallet_address having sum(c.amount) > 0`;
      expect(new Map(earned.map((e) => [e.claimant, BigInt(e.amount)]))).toEqual(new Map(expected.leaves.map((l) => [l.claimant, l.cumulative])));
    }
    expect(await db.rewardLeaf.count({ where: { epoch: 7 } })).toBe(0);
    expect(trees.get(7)!.root).toBe(trees.get(6)!.root);
    expect(new Set(skippedLog)).toEqual(new Set(["not-a-wallet"]));
    // Claimants that sat hours out stored no leaf for them: fewer leaves than the full method's claimants × epochs.
    expect(await db.rewardLeaf.count()).toBeLessThan([...trees.values()].reduce((n, t) => n + t.leaves.length, 0));
    // Computing a stored epoch again is a no-op; an earlier one after a later exists is superseded.
    expect(await computeRewardEpoch(db, epochWindow(emissionStart, 9), { minVerificationScoreBps: MIN_SCORE })).toMatchObject({ created: false, root: previous!.root });
    expect(await computeRewardEpoch(db, epochWindow(emissionStart, 5), { minVerificationScoreBps: MIN_SCORE })).toBeNull();
  }, 300_000);
});
