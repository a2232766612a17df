import { epochWindow } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRewardEpoch, createDb, markRewardEpochPosted, rewardClaimFor, rowsPerStatement, seedSimulatedNetwork, writeMirroredStakes, type Db } from "../src/index.ts";
import { watchOverlappingQueries } from "./pg-overlap.ts";

// A reward epoch with more rewarded devices than one INSERT of Prisma's could carry, stored by one
// set-based statement (never concurrent queries on the epoch's connection); the next epoch stores
// leaves only for the claimants it paid.
let database: TestDatabase;
let db: Db;
const watch = watchOverlappingQueries();
const DEVICES = rowsPerStatement(6) + 1_500; // past Prisma's own split (32,766 binds: 5,461 rows of 6)

beforeAll(async () => {
  database = await createTestDatabase("rewards");
  db = createDb(database.url, { max: 4 });
  await seedSimulatedNetwork(db, { suppliers: 40, devices: DEVICES });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", verificationScoreBps: 9_000 } });
  // Every device staked its required MESH (what the indexer mirrors after the dev bootstrap's stakes).
  await writeMirroredStakes(db);
}, 300_000);

afterAll(async () => {
  watch.restore();
  await db.$disconnect();
  await database.drop();
});

describe("reward epoch at scale", () => {
  it("stores every rewarded device's contribution, and a leaf only for the claimants whose amount changed", async () => {
    watch.stacks.length = 0;
    // The hour that started 30 minutes ago: every seeded device was online for its second half.
    const start = Math.floor(Date.now() / 1000) - 1_800;
    const first = await computeRewardEpoch(db, epochWindow(start, 1), { minVerificationScoreBps: 5_000 });
    expect(first?.created).toBe(true);
    expect(first!.devicesRewarded).toBeGreaterThan(5_461);
    expect(await db.rewardContribution.count({ where: { epoch: 1 } })).toBeGreaterThanOrEqual(first!.devicesRewarded);
    const suppliersPaid = first!.leavesStored;
    expect(suppliersPaid).toBeGreaterThan(1);
    expect(await db.rewardLeaf.count({ where: { epoch: 1 } })).toBe(suppliersPaid);
    expect(await db.rewardBalance.count()).toBe(suppliersPaid);
    const stored = await db.rewardEpoch.findUniqueOrThrow({ where: { epoch: 1 } });
    expect(stored.pool).toBe(first!.pool);
    expect(stored.totalWeight).toBe(first!.totalWeight);
    expect((await db.rewardContribution.aggregate({ where: { epoch: 1 }, _sum: { weight: true, amount: true } }))._sum).toEqual({ weight: first!.totalWeight, amount: first!.pool });

    // Epoch 2 (the next hour, not over yet: computing does not check that): only one supplier's devices stay eligible. Its leaf is the only one stored; everyone
    // else's amount is still in the tree, carried by their epoch-1 leaf.
    const [kept] = await db.$queryRaw<{ supplier_id: string; wallet: string }[]>`
      select d.supplier_id, a.wallet_address as wallet from device d join supplier s on s.id = d.supplier_id join account a on a.id = s.account_id
       where d.gpu_count > 0 and d.status = 'ONLINE' order by d.id limit 1`;
    await db.device.updateMany({ where: { supplierId: { not: kept!.supplier_id } }, data: { status: "SUSPENDED" } });
    const second = await computeRewardEpoch(db, epochWindow(start, 2), { minVerificationScoreBps: 5_000 });
    expect(second?.leavesStored).toBe(1);
    expect(second!.claimants).toBe(suppliersPaid);
    expect(await db.rewardLeaf.findMany({ where: { epoch: 2 }, select: { claimant: true } })).toEqual([{ claimant: kept!.wallet }]);
    expect(second!.total).toBe(first!.total + second!.pool);

    await markRewardEpochPosted(db, 2, null, new Date());
    const claim = await rewardClaimFor(db, kept!.wallet);
    expect(claim?.epoch).toBe(2);
    expect(claim?.root).toBe(second!.root);
    expect(watch.stacks).toEqual([]);
  }, 180_000);

  it("pays nothing to a device that is not staked, is unstaking, or staked less than its required stake", async () => {
    await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE" } });
    const [never, unstaking, short, full] = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, orderBy: { id: "asc" }, take: 4, select: { id: true } });
    await db.deviceStake.delete({ where: { deviceId: never!.id } });
    await writeMirroredStakes(db, { deviceIds: [unstaking!.id], status: "UNSTAKING" });
    await writeMirroredStakes(db, { deviceIds: [short!.id], shortBy: 1n });
    const start = Math.floor(Date.now() / 1000) - 1_800;
    const third = await computeRewardEpoch(db, epochWindow(start, 3), { minVerificationScoreBps: 5_000 });
    expect(third?.created).toBe(true);
    const paid = await db.rewardContribution.findMany({ where: { epoch: 3, deviceId: { in: [never!.id, unstaking!.id, short!.id, full!.id] } }, select: { deviceId: true, amount: true } });
    expect(paid.map((c) => c.deviceId)).toEqual([full!.id]);
    expect(paid[0]!.amount).toBeGreaterThan(0n);
  }, 180_000);

  it("pays nothing to a device its supplier paused at any moment of the hour; a pause over before the hour costs nothing", async () => {
    const [, , , , inside, before, open, never] = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, orderBy: { id: "asc" }, take: 8, select: { id: true } });
    const start = Math.floor(Date.now() / 1000) - 1_800;
    const window = epochWindow(start, 4);
    const at = (minutes: number) => new Date(window.start.getTime() + minutes * 60_000);
    await db.devicePause.createMany({
      data: [
        { deviceId: inside!.id, startedAt: at(10), endedAt: at(11) },
        { deviceId: before!.id, startedAt: at(-30), endedAt: at(0) },
        { deviceId: open!.id, startedAt: at(-90) },
      ],
    });
    const fourth = await computeRewardEpoch(db, window, { minVerificationScoreBps: 5_000 });
    expect(fourth?.created).toBe(true);
    const paid = await db.rewardContribution.findMany({ where: { epoch: 4, deviceId: { in: [inside!.id, before!.id, open!.id, never!.id] } }, select: { deviceId: true } });
    expect(paid.map((c) => c.deviceId).sort()).toEqual([before!.id, never!.id].sort());
  }, 180_000);
});
