import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { createDb, leasesToReconcile, Prisma, reconcileSweepSql, recordReconciliation, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploySweepSql } from "../src/jobs/deploy-sweep.ts";
import { decideVanish, healthSweepSql, lostAllocations, vanishDue } from "../src/jobs/health.ts";
import { findSettlementWork, settleSweepSql } from "../src/jobs/settle.ts";

// Sweeps cost O(work due): with 20,000 rows of history in every table a sweep reads, each of its
// statements (the very Prisma.sql the sweep runs) must be planned on the index that holds only due
// rows, with no sequential scan of clusters, devices, allocations or usage records.
const ROWS = 20_000;
const HOUR = 3_600_000;
let database: TestDatabase;
let db: Db;
const now = new Date();

beforeAll(async () => {
  database = await createTestDatabase("sweep_plans");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 4, devices: 20 });
  const renter = await db.account.create({ data: { walletAddress: "RenterP1ans1111111111111111111111111111111" } });
  // Devices: most online and heard from, a tenth offline for good (the network, not work due).
  await db.$executeRaw`
    insert into device (id, supplier_id, name, gpu_model_id, gpu_count, vram_gb, cpu_model, cpu_cores, ram_gb, disk_gb, region, country, city,
                        bandwidth_up_mbps, bandwidth_down_mbps, price_per_gpu_hour, status, last_heartbeat_at)
    select gen_random_uuid(), d.supplier_id, 'bulk-' || g, d.gpu_model_id, d.gpu_count, d.vram_gb, d.cpu_model, d.cpu_cores, d.ram_gb, d.disk_gb, d.region,
           d.country, d.city, d.bandwidth_up_mbps, d.bandwidth_down_mbps, d.price_per_gpu_hour,
           (case when g % 10 = 0 then 'OFFLINE' else 'ONLINE' end)::"DeviceStatus", ${now}::timestamptz
      from (select * from device where gpu_count > 0 limit 1) d, generate_series(1, ${ROWS}::int) g`;
  // Clusters: ended leases (history, closed on-chain), and 200 running ones, of which 20 started 5 hours
  // ago (due: four complete hours unsettled) and the rest under an hour ago (not due yet).
  await db.$executeRaw`
    insert into cluster (id, renter_id, name, type, gpu_model_ids, gpu_count, regions, supplier_networks, duration_hours, price_per_second, deposit_amount,
                         status, lease_id, started_at, ends_at, ended_at, chain_closed_at, updated_at)
    select gen_random_uuid(), ${renter.id}::uuid, 'history-' || g, 'RAY', array['H100'], 1, array['us-east'], array['GPUMESH']::"SupplierNetwork"[], 4, 100, 1440000,
           (case when g % 100 = 0 then 'RUNNING' else 'ENDED' end)::"ClusterStatus", g,
           date_trunc('second', ${now}::timestamptz - ((g % 50) || ' minutes')::interval - case when g % 100 <> 0 or g % 1000 = 0 then interval '5 hours' else interval '0' end),
           date_trunc('second', ${now}::timestamptz - ((g % 50) || ' minutes')::interval + case when g % 100 <> 0 then interval '-1 hour' else interval '9 hours' end),
           case when g % 100 = 0 then null else ${now}::timestamptz - (g || ' minutes')::interval - interval '1 hour' end,
           case when g % 100 = 0 then null else ${now}::timestamptz - (g || ' minutes')::interval end,
           ${now}::timestamptz - (g || ' minutes')::interval
      from generate_series(1, ${ROWS}::int) g`;
  // Allocations and usage of that history: released, each on its own device.
  await db.$executeRaw`
    insert into allocation (id, cluster_id, device_id, gpu_count, price_per_gpu_hour, starts_at, ends_at, status, released_at)
    select gen_random_uuid(), c.id, d.id, 1, 100, c.started_at, c.ends_at, (case when c.status = 'RUNNING' then 'ACTIVE' else 'RELEASED' end)::"AllocationStatus", c.ended_at
      from (select id, started_at, ends_at, status, ended_at, row_number() over (order by id) n from cluster where name like 'history-%') c
      join (select id, row_number() over (order by id) n from device where name like 'bulk-%') d on d.n = c.n`;
  await db.$executeRaw`
    insert into usage_record (id, allocation_id, cluster_id, device_id, period_start, period_end, gpu_seconds, amount)
    select gen_random_uuid(), a.id, a.cluster_id, a.device_id, a.starts_at, a.starts_at + interval '1 hour', 3600, 360000 from allocation a`;
  // Reconciliation verdicts: every closed lease of the history is reconciled but one in 97 (work due).
  await db.$executeRaw`
    insert into lease_reconciliation (cluster_id, checked_at, ok, mismatches)
    select id, chain_closed_at + interval '1 minute', true, '[]'::jsonb from cluster
     where name like 'history-%' and chain_closed_at is not null and substring(name from 9)::int % 97 <> 0`;
  // Outage history: every online bulk device was offline for an hour yesterday; half of them were
  // serving a lease then, decided long ago, but one in 500 (work due: undecided, past any grace).
  await db.$executeRaw`
    insert into device_outage (device_id, started_at, ended_at)
    select id, ${now}::timestamptz - interval '1 day', ${now}::timestamptz - interval '23 hours' from device where name like 'bulk-%' and status = 'ONLINE'`;
  await db.$executeRaw`
    update device_outage o set allocation_id = a.id, vanish_decided_at = case when a.n % 500 = 0 then null else o.ended_at end
      from (select id, device_id, row_number() over (order by id) n from allocation) a
     where a.device_id = o.device_id and a.n % 2 = 0 and o.ended_at is not null`;
  await db.$executeRaw`analyze`;
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

async function plan(sql: Prisma.Sql): Promise<PlanNode[]> {
  const rows = await db.$queryRaw<{ "QUERY PLAN": [{ Plan: PlanNode }] }[]>(Prisma.sql`explain (format json) ${sql}`);
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    node.Plans?.forEach(walk);
  };
  walk(rows[0]!["QUERY PLAN"][0].Plan);
  return nodes;
}

async function expectIndexed(sql: Prisma.Sql, index: string) {
  const nodes = await plan(sql);
  const scans = nodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"]);
  expect(scans, "sequential scans").toEqual([]);
  expect(nodes.map((n) => n["Index Name"]).filter(Boolean), index).toContain(index);
}

describe(`sweep statements at ${ROWS.toLocaleString("en")} rows`, () => {
  it("settle: periods due, leases past their end, ends asked for, and a lease's settled periods each read their index", async () => {
    await expectIndexed(settleSweepSql.periodsDue(now), "cluster_settle_due");
    await expectIndexed(settleSweepSql.pastEnd(now), "cluster_serving_ends_at");
    await expectIndexed(settleSweepSql.endRequested(now), "cluster_serving_end_requested");
    const running = await db.cluster.findFirstOrThrow({ where: { status: "RUNNING" }, select: { id: true } });
    await expectIndexed(settleSweepSql.settledSince(running.id, new Date(now.getTime() - 5 * HOUR)), "usage_record_cluster_id_period_start_idx");
  });

  it("health: stale devices and lost nodes each read their index", async () => {
    await expectIndexed(healthSweepSql.markStale(new Date(now.getTime() - 60_000)), "device_status_last_heartbeat_at_idx");
    await expectIndexed(healthSweepSql.lostAllocations(), "allocation_device_lost");
    await expectIndexed(healthSweepSql.vanishDue(new Date(now.getTime() - 15 * 60_000), 1_000, 300), "device_outage_vanish_due");
  });

  it("health: the vanish sweep lists exactly the undecided mid-lease outages past the grace, and deciding takes them off", async () => {
    const due = await vanishDue(db, 900, now);
    const undecided = await db.deviceOutage.count({ where: { allocationId: { not: null }, vanishDecidedAt: null } });
    expect(due.length).toBe(undecided);
    expect(due.length).toBeGreaterThan(5);
    // Not due before the grace has passed (they began a day ago).
    expect(await vanishDue(db, 2 * 86_400, now)).toEqual([]);
    expect(await decideVanish(db, due.slice(0, 2).map((o) => o.id), now)).toBe(2);
    expect(await decideVanish(db, due.slice(0, 2).map((o) => o.id), now)).toBe(0);
    expect((await vanishDue(db, 900, now)).map((o) => o.id)).toEqual(due.slice(2).map((o) => o.id));
  });

  it("deploy: clusters stuck in a deployment state read their index", async () => {
    await expectIndexed(deploySweepSql.stuck(new Date(now.getTime() - 60_000), 1_000), "cluster_deploy_due");
  });

  it("reconcile: closed leases not reconciled yet read their index", async () => {
    await expectIndexed(reconcileSweepSql(100), "cluster_reconcile_due");
  });

  it("the reconcile sweep lists exactly the closed leases without a verdict, oldest close first, and a verdict takes one off", async () => {
    const due = await db.$queryRaw<{ id: string }[]>`
      select c.id::text from cluster c where c.lease_id is not null and c.chain_closed_at is not null
         and not exists (select 1 from lease_reconciliation r where r.cluster_id = c.id)
       order by c.chain_closed_at`;
    expect(due.length).toBeGreaterThan(100);
    const listed = await leasesToReconcile(db, 1_000);
    expect(listed).toEqual(due.map((row) => row.id));
    await recordReconciliation(db, listed[0]!, []);
    expect((await leasesToReconcile(db, 1_000))).toEqual(listed.slice(1));
    // A re-check (the upsert's update) keeps the lease off the list.
    await recordReconciliation(db, listed[0]!, [{ what: "refund", chain: "1", ledger: "0" }]);
    expect((await leasesToReconcile(db, 1_000))[0]).toBe(listed[1]);
  });

  it("the settle sweep finds each due period once, then skips the settled prefix", async () => {
    const due = await db.cluster.findMany({ where: { status: "RUNNING", startedAt: { lt: new Date(now.getTime() - HOUR) } }, select: { id: true, startedAt: true } });
    expect(due).toHaveLength(ROWS / 1000);
    const work = await findSettlementWork(db, now);
    // Hours 2..5 of each due lease are complete and unsettled (the first has its usage): four periods
    // per lease, none of the first hour, none of a lease not due.
    expect(work.periods).toHaveLength(due.length * 4);
    const expected = due.flatMap((c) => [1, 2, 3, 4].map((k) => `${c.id}|${c.startedAt!.getTime() + k * HOUR}`)).sort();
    expect(work.periods.map((p) => `${p.clusterId}|${p.periodStart.getTime()}`).sort()).toEqual(expected);
    // Each is due next when its first open period (its second hour) completes; the next sweep finds
    // the same periods (still open) and nothing else.
    const moved = await db.cluster.findMany({ where: { id: { in: due.map((c) => c.id) } }, select: { startedAt: true, nextSettleAt: true } });
    for (const c of moved) expect(c.nextSettleAt!.getTime()).toBe(c.startedAt!.getTime() + 2 * HOUR);
    expect((await findSettlementWork(db, now)).periods).toHaveLength(due.length * 4);
  });

  it("a device going offline marks its active allocation lost, and coming back clears it", async () => {
    const allocation = await db.allocation.findFirstOrThrow({ where: { status: "ACTIVE", device: { status: "ONLINE" } }, select: { id: true, deviceId: true } });
    // Allocations made on devices that were already offline are lost from the start.
    const before = (await lostAllocations(db)).map((a) => a.id);
    expect(before.length).toBe(await db.allocation.count({ where: { status: "ACTIVE", device: { status: "OFFLINE" } } }));
    expect(before).not.toContain(allocation.id);
    await db.device.update({ where: { id: allocation.deviceId }, data: { status: "OFFLINE" } });
    expect((await lostAllocations(db)).map((a) => a.id)).toContain(allocation.id);
    await db.device.update({ where: { id: allocation.deviceId }, data: { status: "ONLINE" } });
    expect((await lostAllocations(db)).map((a) => a.id).sort()).toEqual([...before].sort());
  });
});
