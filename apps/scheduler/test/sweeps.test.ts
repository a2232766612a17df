import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, reserveDevices, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import type { RecordingChainSettlement } from "../src/chain.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler } from "../src/scheduler.ts";
import { paidCluster, waitFor, waitForStatus } from "./helpers.ts";

// The repeating sweeps as `pnpm dev` runs them: recovery of deployments nobody enqueued, and hourly settlement.
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("sweeps");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 8, devices: 80 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("sweeps", () => {
  it("deploys a paid cluster nobody enqueued, and settles the complete hours of a running lease", async () => {
    const paid = await paidCluster(db, { nodes: 1 });
    await db.cluster.update({ where: { id: paid.id }, data: { updatedAt: new Date(Date.now() - 60_000) } });
    // A lease that started 2.5 hours ago.
    const startedAt = new Date(Date.now() - 2.5 * 3_600_000);
    const device = await db.device.findFirstOrThrow({ where: { gpuCount: { gt: 0 }, allocations: { none: {} }, NOT: { gpuModelId: paid.gpuModelId } } });
    const renter = await db.account.create({ data: { walletAddress: "RenterSweep11111111111111111111111111111111" } });
    const running = await db.cluster.create({
      data: {
        renterId: renter.id, name: "sweep", type: "RAY", gpuModelIds: [device.gpuModelId!], gpuCount: device.gpuCount, regions: [device.region],
        supplierNetworks: ["GPUMESH"], durationHours: 4, pricePerSecond: 100n, depositAmount: 1_440_000n, status: "RUNNING", startedAt,
        endsAt: new Date(startedAt.getTime() + 4 * 3_600_000),
      },
    });
    await reserveDevices(db, { clusterId: running.id, devices: [{ deviceId: device.id, gpuCount: device.gpuCount, pricePerGpuHour: device.pricePerGpuHour }], startsAt: startedAt, endsAt: running.endsAt! });
    await db.allocation.updateMany({ where: { clusterId: running.id }, data: { acknowledgedAt: startedAt } });

    const redis = testRedis();
    const env = loadSchedulerEnv({
      DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
      DEPLOY_SWEEP_EVERY_S: "1", SETTLE_SWEEP_EVERY_S: "1", HEALTH_SWEEP_EVERY_S: "60",
    });
    const scheduler = await startScheduler(env, pino({ level: "silent" }), { agents: new SimulatedAgentChannel() });
    try {
      await waitForStatus(db, paid.id, "RUNNING", 20_000);
      await waitFor("two settled hours", async () => (await db.journal.count({ where: { reference: { startsWith: `settle:${running.id}:` } } })) === 2, 20_000);
      expect(await db.usageRecord.count({ where: { clusterId: running.id } })).toBe(2);
      // Each settled hour asks the on-chain lease to follow (a job of its own, which may run just after the journal).
      await waitFor("a lease sync per settled hour", async () => (scheduler.chain as RecordingChainSettlement).syncs.filter((s) => s.clusterId === running.id).length >= 2, 20_000);
    } finally {
      await scheduler.stop();
    }
  }, 60_000);
});
