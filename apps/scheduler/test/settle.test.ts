import { LedgerAccounts, settlementSplit } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { createDb, ledgerBalance, reserveDevices, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { RecordingChainSettlement } from "../src/chain.ts";
import { endCluster, findSettlementWork, settlePeriod, type SettleDeps } from "../src/jobs/settle.ts";
import { jobIds } from "../src/queues.ts";
import { moneyOfCluster, timeline } from "./helpers.ts";

// Hourly settlement and the end of a lease, with a controlled clock, against real Postgres.
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("settle");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 6, devices: 30 });
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

const HOUR = 3_600_000;

async function runningCluster(startedAt: Date, token: "USDC" | "MESH", durationHours = 3) {
  const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, status: "ONLINE", allocations: { none: {} } }, take: 2, orderBy: { id: "asc" } });
  const renter = await db.account.create({ data: { walletAddress: `RenterSett${Math.random().toString(36).slice(2, 12)}`.padEnd(43, "1") } });
  const pricePerSecond = 777n;
  const cluster = await db.cluster.create({
    data: {
      renterId: renter.id, name: "settle", type: "CONTAINER", gpuModelIds: [devices[0]!.gpuModelId!], gpuCount: devices[0]!.gpuCount + devices[1]!.gpuCount,
      regions: [devices[0]!.region], supplierNetworks: ["GPUMESH"], durationHours, pricePerSecond, depositAmount: pricePerSecond * BigInt(durationHours * 3600),
      paymentToken: token, status: "RUNNING", startedAt, endsAt: new Date(startedAt.getTime() + durationHours * HOUR),
    },
  });
  await reserveDevices(db, {
    clusterId: cluster.id,
    devices: devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour })),
    startsAt: startedAt,
    endsAt: cluster.endsAt!,
  });
  await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: startedAt } });
  return cluster;
}

function deps(now: Date, chain = new RecordingChainSettlement()): SettleDeps & { chain: RecordingChainSettlement } {
  return { db, chain, agents: new SimulatedAgentChannel(), publish: () => undefined, config: { feeBps: 500n, burnBps: 5_000n }, logger: pino({ level: "silent" }), now: () => now };
}

describe("settle", () => {
  it("finds each complete hour once, settles it idempotently, and ends the lease at its paid end", async () => {
    const startedAt = new Date(Date.now() - 10 * HOUR);
    const cluster = await runningCluster(startedAt, "MESH");
    const midLease = new Date(startedAt.getTime() + 2.5 * HOUR);
    const work = await findSettlementWork(db, midLease);
    const mine = work.periods.filter((p) => p.clusterId === cluster.id);
    expect(mine.map((p) => p.periodStart.getTime() - startedAt.getTime())).toEqual([0, HOUR]);
    expect(work.ends).not.toContain(cluster.id);
    expect(new Set(mine.map((p) => jobIds.settlePeriod(p.clusterId, p.periodStart))).size).toBe(2);
    expect(jobIds.settlePeriod(cluster.id, new Date("2026-11-25T10:00:00Z"))).toBe(`settle/${cluster.id}/20261125T100000Z`);

    const d = deps(midLease);
    for (const p of mine) expect((await settlePeriod(d, cluster.id, p.periodStart))!.created).toBe(true);
    expect((await settlePeriod(d, cluster.id, mine[0]!.periodStart))!.created).toBe(false); // replay
    // An incomplete hour is not settled by the hourly job.
    expect(await settlePeriod(d, cluster.id, new Date(startedAt.getTime() + 2 * HOUR))).toBeNull();
    expect((await findSettlementWork(db, midLease)).periods.filter((p) => p.clusterId === cluster.id)).toEqual([]);
    const hourly = settlementSplit(777n, 3600n, 500n, 5_000n, true);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, "MESH"))).toBe(cluster.depositAmount - 2n * hourly.gross);
    expect(d.chain.settled).toHaveLength(3); // sent again on replay: the gateway treats it as done

    // After the paid end: the sweep asks for the end; ending settles the last hour, refunds nothing.
    const after = new Date(startedAt.getTime() + 3 * HOUR + 60_000);
    expect((await findSettlementWork(db, after)).ends).toContain(cluster.id);
    const e = deps(after);
    expect(await endCluster(e, cluster.id, "lease reached its paid end")).toEqual({ refund: 0n });
    expect(await endCluster(e, cluster.id, "replay")).toBeNull();
    expect((await timeline(db, cluster.id)).slice(-2)).toEqual(["RUNNING->ENDING", "ENDING->ENDED"]);
    const ended = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(ended.endedAt).toEqual(cluster.endsAt);
    const money = await moneyOfCluster(db, cluster.id);
    expect(money.escrow).toBe(0n);
    expect(money.burned).toBe(3n * hourly.burn);
    expect(money.suppliers + money.treasury + money.burned).toBe(cluster.depositAmount);
    expect(money.references.filter((r) => r.startsWith("settle:"))).toHaveLength(3);
    expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
    expect(e.chain.ended).toEqual([{ clusterId: cluster.id, leaseId: null, endedAt: cluster.endsAt, refund: 0n }]);
  });

  it("ends early on request: partial last period, unused time refunded to the base unit", async () => {
    const startedAt = new Date(Date.now() - 20 * HOUR);
    const cluster = await runningCluster(startedAt, "USDC", 5);
    const at = new Date(startedAt.getTime() + 90 * 60_000 + 17_000); // 1 h 30 min 17 s
    const result = await endCluster(deps(at), cluster.id, "terminated by the renter");
    const used = 777n * (90n * 60n + 17n);
    expect(result).toEqual({ refund: cluster.depositAmount - used });
    const money = await moneyOfCluster(db, cluster.id);
    expect(money.burned).toBe(0n); // USDC: no burn
    expect(money.suppliers + money.treasury + money.refund).toBe(cluster.depositAmount);
    expect(money.escrow).toBe(0n);
  });
});
