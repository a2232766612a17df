import { allocationSettlement, LedgerAccounts, SeededRandom, ZERO_TOTALS, type AllocationTotals } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allocationRate,
  createDb,
  fixLeaseEnd,
  ledgerBalance,
  postRefundJournal,
  reserveDevices,
  settleClusterPeriod,
  settlementPeriods,
  transitionClusterInTx,
  type Db,
} from "../src/index.ts";
import { seedCatalogue } from "../src/seed.ts";

// Random lease histories (start, nodes lost at random instants, replacements acknowledged later,
// settles of random periods in random order, an early or a paid end) through the ledger, against an
// independent model of what the program pays: each node its rate for the whole seconds it served
// (from its start or ack, to its loss or the end, never earlier than the last change), fees floored
// on that node's running total. Money is conserved to the base unit and the two agree.

let database: TestDatabase;
let db: Db;
let renterId: string;
const devices: { id: string; supplierId: string }[] = [];

beforeAll(async () => {
  database = await createTestDatabase("settleprop");
  db = createDb(database.url);
  await seedCatalogue(db);
  renterId = (await db.account.create({ data: { walletAddress: "RenterProp111111111111111111111111111111111" } })).id;
  for (let i = 0; i < 12; i++) {
    const account = await db.account.create({ data: { walletAddress: `SupplierProp${String.fromCharCode(65 + i)}`.padEnd(43, "1") } });
    const supplier = await db.supplier.create({ data: { accountId: account.id, name: `prop-${i}` } });
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `p${i}`, gpuModelId: "l40s", gpuCount: 2, vramGb: 48, cpuModel: "EPYC", cpuCores: 32, ramGb: 256, diskGb: 2048,
        region: "eu-north", country: "SE", city: "Stockholm", bandwidthUpMbps: 5_000, bandwidthDownMbps: 5_000, pricePerGpuHour: 800_000n, status: "ONLINE",
      },
    });
    devices.push({ id: device.id, supplierId: supplier.id });
  }
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

const HOUR = 3_600_000;

describe("ledger settlement over random histories", () => {
  it("conserves every base unit and pays each node exactly what the program's per-allocation maths pays it", async () => {
    const rng = new SeededRandom(20261130);
    for (let trial = 0; trial < 12; trial++) {
      const mesh = rng.next() < 0.5;
      const token = mesh ? "MESH" : "USDC";
      const feeBps = rng.int(0, 1_000);
      const burnBps = rng.int(0, 10_000);
      const durationHours = rng.int(1, 4);
      const pricePerSecond = BigInt(rng.int(7, 5_000));
      const start = new Date(Date.UTC(2026, 0, 1 + trial) + rng.int(0, 999));
      const endsAt = new Date(start.getTime() + durationHours * HOUR);
      const nodes = 2;
      const cluster = await db.cluster.create({
        data: {
          renterId, name: `prop-${trial}`, type: "CONTAINER", gpuModelIds: ["l40s"], gpuCount: nodes * 2, regions: ["eu-north"], supplierNetworks: ["GPUMESH"],
          durationHours, pricePerSecond, depositAmount: pricePerSecond * BigInt(durationHours * 3600), paymentToken: token, status: "RUNNING", startedAt: start, endsAt,
          feeBps, burnBps,
        },
      });
      const pool = [...devices].sort(() => rng.next() - 0.5);
      const first = pool.splice(0, nodes);
      await reserveDevices(db, { clusterId: cluster.id, devices: first.map((d) => ({ deviceId: d.id, gpuCount: 2, pricePerGpuHour: 800_000n })), startsAt: start, endsAt });
      await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: new Date(start.getTime() - 3_000) } });

      // Losses and replacements at random instants, in time order (as the health sweep would see them).
      let t = start.getTime();
      const lastMs = endsAt.getTime();
      for (let event = 0; event < rng.int(0, 3) && pool.length; event++) {
        t += rng.int(1, 50) * 60_000 + rng.int(0, 999);
        if (t >= lastMs) break;
        const active = await db.allocation.findMany({ where: { clusterId: cluster.id, status: "ACTIVE" } });
        const victim = active[rng.int(0, active.length - 1)]!;
        await db.allocation.update({ where: { id: victim.id }, data: { status: "RELEASED", releasedAt: new Date(t), releaseReason: "offline: property" } });
        const ackAt = t + rng.int(5, 600) * 1_000 + rng.int(0, 999);
        if (ackAt < lastMs && rng.next() < 0.8) {
          const replacement = pool.shift()!;
          await reserveDevices(db, { clusterId: cluster.id, devices: [{ deviceId: replacement.id, gpuCount: 2, pricePerGpuHour: 800_000n }], startsAt: new Date(t), endsAt });
          await db.allocation.updateMany({ where: { clusterId: cluster.id, deviceId: replacement.id }, data: { acknowledgedAt: new Date(ackAt) } });
          t = ackAt;
        }
      }
      // An early end (the renter's terminate) or the paid end.
      const early = rng.next() < 0.6;
      const endRequestedAt = early ? new Date(Math.min(lastMs - 1_000, t + rng.int(1, 90) * 60_000 + rng.int(0, 999))) : null;
      await db.cluster.update({ where: { id: cluster.id }, data: { status: "ENDING", endRequestedAt: endRequestedAt ?? endsAt } });
      const endAt = (await fixLeaseEnd(db, cluster.id, endsAt))!;
      // Periods settled in random order, some twice (retries).
      const periods = settlementPeriods(start, endAt, endAt, true);
      const order = [...periods, ...periods.filter(() => rng.next() < 0.3)].sort(() => rng.next() - 0.5);
      for (const period of order) await settleClusterPeriod(db, cluster.id, period, { feeBps: 0n, burnBps: 0n });
      // Settling out of order must still give every node its running-total fees: re-derive the model.
      await db.$transaction(async (tx) => {
        await transitionClusterInTx(tx, cluster.id, "ENDED", "property end", { expectedFrom: "ENDING", at: endAt });
        await postRefundJournal(tx, cluster.id, endAt, "property end");
      });

      // The model: what settle_allocation would pay each billed node over its whole served time.
      const billed = await db.allocation.findMany({ where: { clusterId: cluster.id, chainIndex: { not: null } }, orderBy: { chainIndex: "asc" } });
      const floorS = (d: Date) => BigInt(Math.floor(d.getTime() / 1000));
      let modelGross = 0n;
      const bySupplier = new Map<string, bigint>();
      let treasury = 0n;
      let burned = 0n;
      for (const a of billed) {
        expect(a.ratePerSecond).toBe(allocationRate(cluster, a.gpuCount));
        const served = (a.billedUntil ? floorS(a.billedUntil) : floorS(endAt)) - floorS(a.billedFrom!);
        expect(served).toBeGreaterThanOrEqual(0n);
        const whole = allocationSettlement(ZERO_TOTALS as AllocationTotals, a.ratePerSecond!, served, BigInt(feeBps), BigInt(burnBps), mesh).split;
        modelGross += whole.gross;
        treasury += whole.treasury;
        burned += whole.burn;
        const supplierId = devices.find((d) => d.id === a.deviceId)!.supplierId;
        bySupplier.set(supplierId, (bySupplier.get(supplierId) ?? 0n) + whole.supplier);
        const usage = await db.usageRecord.aggregate({ where: { allocationId: a.id }, _sum: { amount: true } });
        expect(usage._sum.amount ?? 0n).toBe(whole.gross);
      }
      // Billing instants are monotone (what the program's last_change_ts requires).
      const changes = billed.flatMap((a) => [a.billedFrom!.getTime(), ...(a.billedUntil ? [a.billedUntil.getTime()] : [])]);
      expect(changes.every((ms) => ms % 1000 === 0 && ms >= Math.floor(start.getTime() / 1000) * 1000 && ms <= endAt.getTime())).toBe(true);

      const refund = cluster.depositAmount - modelGross;
      expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, token))).toBe(0n);
      const journals = await db.$queryRaw<{ code: string; amount: bigint }[]>`
        select la.code, sum(e.amount)::bigint as amount from journal j join ledger_entry e on e.journal_id = j.id join ledger_account la on la.id = e.ledger_account_id
         where j.reference like ${`%${cluster.id}%`} group by la.code`;
      const line = (code: string) => BigInt(journals.find((j) => j.code === code)?.amount ?? 0n);
      expect(line(LedgerAccounts.treasury(token))).toBe(treasury);
      expect(line(LedgerAccounts.burned(token))).toBe(burned);
      for (const [supplierId, amount] of bySupplier) expect(line(LedgerAccounts.supplierEarnings(supplierId, token))).toBe(amount);
      // Deposit in = Σ suppliers + treasury + burned + refund (the renter's wallet nets to −(deposit − refund)).
      expect(line(LedgerAccounts.renterWallet(renterId, token))).toBe(-(cluster.depositAmount - refund));
      expect([...bySupplier.values()].reduce((a, b) => a + b, 0n) + treasury + burned + refund).toBe(cluster.depositAmount);
      // Nothing left: release the devices for the next trial.
      await db.allocation.updateMany({ where: { clusterId: cluster.id, status: "ACTIVE" }, data: { status: "RELEASED", releasedAt: endAt } });
    }
  }, 120_000);
});
