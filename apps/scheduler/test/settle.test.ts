import { LedgerAccounts, settlementSplit } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { allocationRate, createDb, ledgerBalance, recordEndRequest, reserveDevices, seedSimulatedNetwork, transitionCluster, type Db } from "@gpumesh/db";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel } from "../src/agents.ts";
import { RecordingChainSettlement } from "../src/chain.ts";
import { endCluster, findSettlementWork, settlePeriod, type SettleDeps } from "../src/jobs/settle.ts";
import { jobIds } from "@gpumesh/queue";
import { FlakyChainSettlement, moneyOfCluster, timeline } from "./helpers.ts";

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
  // Each node bills its share of the price for its GPUs (Σ ≤ the price; the dust is refunded).
  const rates = devices.map((d) => allocationRate(cluster, d.gpuCount));
  return { ...cluster, rates };
}

/** What the nodes of a cluster are paid for `seconds` each, summed (fees on each node's own running total). */
function served(rates: bigint[], seconds: bigint, mesh: boolean) {
  const splits = rates.map((rate) => settlementSplit(rate, seconds, 500n, 5_000n, mesh));
  return { gross: splits.reduce((a, x) => a + x.gross, 0n), burn: splits.reduce((a, x) => a + x.burn, 0n) };
}

const wholeSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

function deps(now: Date, chain = new RecordingChainSettlement(db)): SettleDeps & { chain: RecordingChainSettlement } {
  return { db, chain, agents: new SimulatedAgentChannel(), publish: () => undefined, config: { feeBps: 500n, burnBps: 5_000n }, logger: pino({ level: "silent" }), now: () => now };
}

describe("settle", () => {
  it("finds each complete hour once, settles it idempotently, and ends the lease at its paid end", async () => {
    const startedAt = wholeSecond(Date.now() - 10 * HOUR);
    const cluster = await runningCluster(startedAt, "MESH");
    const midLease = new Date(startedAt.getTime() + 2.5 * HOUR);
    const work = await findSettlementWork(db, midLease);
    const mine = work.periods.filter((p) => p.clusterId === cluster.id);
    expect(mine.map((p) => p.periodStart.getTime() - startedAt.getTime())).toEqual([0, HOUR]);
    expect(work.ends.map((e) => e.clusterId)).not.toContain(cluster.id);
    expect(new Set(mine.map((p) => jobIds.settlePeriod(p.clusterId, p.periodStart))).size).toBe(2);
    expect(jobIds.settlePeriod(cluster.id, new Date("2026-11-25T10:00:00Z"))).toBe(`settle/${cluster.id}/20261125T100000Z`);

    const d = deps(midLease);
    for (const p of mine) expect((await settlePeriod(d, cluster.id, p.periodStart))!.created).toBe(true);
    expect((await settlePeriod(d, cluster.id, mine[0]!.periodStart))!.created).toBe(false); // replay
    // An incomplete hour is not settled by the hourly job.
    expect(await settlePeriod(d, cluster.id, new Date(startedAt.getTime() + 2 * HOUR))).toBeNull();
    expect((await findSettlementWork(db, midLease)).periods.filter((p) => p.clusterId === cluster.id)).toEqual([]);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, "MESH"))).toBe(cluster.depositAmount - served(cluster.rates, 7_200n, true).gross);
    // The on-chain lease is synced after every settle, replays included (the sync sends only what is missing).
    expect(d.chain.syncs.filter((s) => s.clusterId === cluster.id)).toHaveLength(3);

    // After the paid end: the sweep asks for the end; ending settles the last hour, refunds nothing.
    const after = new Date(startedAt.getTime() + 3 * HOUR + 60_000);
    expect((await findSettlementWork(db, after)).ends).toContainEqual({ clusterId: cluster.id, endsAt: cluster.endsAt });
    const e = deps(after);
    const whole = served(cluster.rates, 10_800n, true);
    // The price splits into per-node rates with rounding dust: the dust comes back, to the base unit.
    const dust = cluster.depositAmount - whole.gross;
    expect(dust).toBeGreaterThanOrEqual(0n);
    expect(await endCluster(e, cluster.id, "lease reached its paid end")).toEqual({ refund: dust });
    expect(await endCluster(e, cluster.id, "replay")).toBeNull();
    expect((await timeline(db, cluster.id)).slice(-2)).toEqual(["RUNNING->ENDING", "ENDING->ENDED"]);
    const ended = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(ended.endedAt).toEqual(cluster.endsAt);
    const money = await moneyOfCluster(db, cluster.id);
    expect(money.escrow).toBe(0n);
    expect(money.burned).toBe(whole.burn);
    expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.depositAmount);
    expect(money.references.filter((r) => r.startsWith("settle:"))).toHaveLength(3);
    expect(await db.allocation.count({ where: { clusterId: cluster.id, status: "ACTIVE" } })).toBe(0);
    expect(e.chain.ended).toEqual([{ clusterId: cluster.id, status: "ENDED", endedAt: cluster.endsAt, refund: dust }]);
  });

  it("ends early on request: partial last period, unused time refunded to the base unit", async () => {
    const startedAt = wholeSecond(Date.now() - 20 * HOUR);
    const cluster = await runningCluster(startedAt, "USDC", 5);
    const at = new Date(startedAt.getTime() + 90 * 60_000 + 17_400); // 1 h 30 min 17.4 s: billed to the whole second
    // Asked to end, its end job lost (the web's enqueue failed): the sweep finds it.
    await recordEndRequest(db, cluster.id, at);
    expect((await findSettlementWork(db, new Date(at.getTime() + 1_000))).requested).toContainEqual({ clusterId: cluster.id, requestedAt: at });
    const result = await endCluster(deps(at), cluster.id, "terminated by the renter");
    expect((await findSettlementWork(db, new Date(at.getTime() + 1_000))).requested.map((r) => r.clusterId)).not.toContain(cluster.id);
    const used = served(cluster.rates, 90n * 60n + 17n, false).gross;
    expect(result).toEqual({ refund: cluster.depositAmount - used });
    // A retry much later (a crash after ENDED) changes nothing: the end instant was fixed once.
    expect(await endCluster(deps(new Date(at.getTime() + HOUR)), cluster.id, "retry")).toBeNull();
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).endedAt).toEqual(wholeSecond(at.getTime()));
    const money = await moneyOfCluster(db, cluster.id);
    expect(money.burned).toBe(0n); // USDC: no burn
    expect(money.suppliers + money.treasury + money.refund).toBe(cluster.depositAmount);
    expect(money.escrow).toBe(0n);
  });
});

describe("settle: the end instant and who is billed", () => {
  it("a crash between ENDING and ENDED: the retry ends at the first attempt's instant, not its own", async () => {
    const startedAt = wholeSecond(Date.now() - 30 * HOUR);
    const cluster = await runningCluster(startedAt, "USDC", 5);
    const first = new Date(startedAt.getTime() + 2 * HOUR);
    // The first attempt reaches ENDING and dies there (the chain sync throws after nothing else ran).
    const crashing = deps(first);
    await db.$transaction(async (tx) => {
      const { transitionClusterInTx } = await import("@gpumesh/db");
      await transitionClusterInTx(tx, cluster.id, "ENDING", "terminated", { expectedFrom: "RUNNING", at: first });
      await tx.$executeRaw`update cluster set end_requested_at = ${first}::timestamptz where id = ${cluster.id}::uuid`;
    });
    const retry = deps(new Date(first.getTime() + 3 * HOUR));
    const result = await endCluster(retry, cluster.id, "sweep: resume the end");
    expect(result).toEqual({ refund: cluster.depositAmount - served(cluster.rates, 7_200n, false).gross });
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).endedAt).toEqual(first);
    expect(crashing.chain.syncs).toEqual([]);
  });

  it("two ends of one lease race during a chain outage: the one that loses the move to ENDED fails too, until end_lease lands", async () => {
    const startedAt = wholeSecond(Date.now() - 10 * HOUR);
    const cluster = await runningCluster(startedAt, "USDC", 3);
    const paidEnd = cluster.endsAt!;
    // The expiry job moved it to ENDING and is settling; the sweep's resume job reads it ENDING too.
    await transitionCluster(db, cluster.id, "ENDING", "lease reached its paid end", { expectedFrom: "RUNNING", at: paidEnd });
    const chain = new FlakyChainSettlement(db);
    chain.down = true;
    const now = new Date();
    // Right after the expiry job's read, the sweep's job runs the end to ENDED (its end_lease fails).
    let raced = false;
    const racing = db.$extends({
      query: {
        cluster: {
          async findUniqueOrThrow({ args, query }) {
            const row = await query(args);
            if (!raced) {
              raced = true;
              await expect(endCluster({ ...deps(now), chain }, cluster.id, "lease end resumed")).rejects.toThrow("chain unavailable");
            }
            return row;
          },
        },
      },
    }) as unknown as Db;
    // The expiry job's move to ENDED finds it done: it must not complete while end_lease has not landed.
    await expect(endCluster({ ...deps(now), db: racing, chain }, cluster.id, "lease reached its paid end")).rejects.toThrow("chain unavailable");
    expect(raced).toBe(true);
    expect(chain.failures).toBe(2);
    const ended = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(ended.status).toBe("ENDED");
    expect(ended.endedAt).toEqual(paidEnd);
    expect(chain.ended).toEqual([]);
    // Billed once: escrow emptied, deposit = paid out + refund.
    const money = await moneyOfCluster(db, cluster.id);
    expect(money.escrow).toBe(0n);
    expect(money.suppliers + money.treasury + money.burned + money.refund).toBe(cluster.depositAmount);
    // The chain is back: the expiry job's retry ends the lease on-chain at the same instant.
    chain.down = false;
    expect(await endCluster({ ...deps(now), db: racing, chain }, cluster.id, "lease reached its paid end")).toBeNull();
    expect(chain.ended).toEqual([{ clusterId: cluster.id, endedAt: paidEnd }]);
  });

  it("bills only the nodes that served: a node down the whole period costs nothing", async () => {
    const startedAt = wholeSecond(Date.now() - 40 * HOUR);
    const cluster = await runningCluster(startedAt, "USDC", 3);
    const allocations = await db.allocation.findMany({ where: { clusterId: cluster.id }, orderBy: { id: "asc" } });
    // One node was lost one second after the start and never replaced.
    await db.allocation.update({ where: { id: allocations[0]!.id }, data: { status: "RELEASED", releasedAt: new Date(startedAt.getTime() + 1_000), releaseReason: "offline: test" } });
    const d = deps(new Date(startedAt.getTime() + 2 * HOUR));
    const second = await settlePeriod(d, cluster.id, new Date(startedAt.getTime() + 0));
    const lostRate = allocationRate(cluster, allocations[0]!.gpuCount);
    const keptRate = allocationRate(cluster, allocations[1]!.gpuCount);
    expect(second!.split.gross).toBe(lostRate * 1n + keptRate * 3_600n);
    const next = await settlePeriod(d, cluster.id, new Date(startedAt.getTime() + HOUR));
    expect(next!.usage.map((u) => u.allocationId)).toEqual([allocations[1]!.id]);
    expect(next!.split.gross).toBe(keptRate * 3_600n);
  });
});
