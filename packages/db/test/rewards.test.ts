import { epochWindow } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeRewardEpoch, createDb, rowsPerStatement, seedSimulatedNetwork, type Db } from "../src/index.ts";
import { watchOverlappingQueries } from "./pg-overlap.ts";

// A reward epoch with more rewarded devices than one INSERT can carry: its contributions are written
// in slices, one statement at a time on the epoch's transaction (never concurrent queries on it).
let database: TestDatabase;
let db: Db;
const watch = watchOverlappingQueries();
const DEVICES = rowsPerStatement(6) + 1_500; // past Prisma's own split (32,766 binds: 5,461 rows of 6)

beforeAll(async () => {
  database = await createTestDatabase("rewards");
  db = createDb(database.url, { max: 4 });
  await seedSimulatedNetwork(db, { suppliers: 40, devices: DEVICES });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", verificationScoreBps: 9_000 } });
}, 120_000);

afterAll(async () => {
  watch.restore();
  await db.$disconnect();
  await database.drop();
});

describe("reward epoch at scale", () => {
  it("stores every rewarded device's contribution and every claimant's leaf, one statement at a time", async () => {
    watch.stacks.length = 0;
    // The hour that started 30 minutes ago: every seeded device was online for its second half.
    const window = epochWindow(Math.floor(Date.now() / 1000) - 1_800, 1);
    const epoch = await computeRewardEpoch(db, window, { minVerificationScoreBps: 5_000 });
    expect(epoch?.created).toBe(true);
    expect(epoch!.devicesRewarded).toBeGreaterThan(5_461);
    expect(await db.rewardContribution.count({ where: { epoch: 1 } })).toBeGreaterThanOrEqual(epoch!.devicesRewarded);
    expect(await db.rewardLeaf.count({ where: { epoch: 1 } })).toBe(epoch!.leaves.length);
    expect(epoch!.leaves.length).toBeGreaterThan(1);
    expect(watch.stacks).toEqual([]);
  }, 120_000);
});
