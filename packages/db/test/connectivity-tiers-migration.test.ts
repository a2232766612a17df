import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { connectivityTierFor } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaDrift } from "../src/drift.ts";
import { listMigrations, migrate, MIGRATIONS_DIR } from "../src/migrate.ts";

// The migration to io.net's four tiers, run on a database that holds rows written under the old three
// (STANDARD / HIGH_SPEED / ULTRA_HIGH_SPEED): migrated up to the one before it, filled, then migrated.
const TIERS_MIGRATION = "20261202100000_connectivity_tiers";

let database: TestDatabase;
let raw: pg.Client;
let applied: string[];

// Old tier as written then (deliberately not what the bandwidth says, for some: the new tier must come
// from the measured columns), measured link in Mbps, and the new tier expected.
const DEVICES: { name: string; old: string; downMbps: number; upMbps: number; expected: string }[] = [
  { name: "home-500", old: "STANDARD", downMbps: 500, upMbps: 100, expected: "LOW" },
  { name: "gigabit", old: "HIGH_SPEED", downMbps: 1_000, upMbps: 1_000, expected: "LOW" },
  { name: "medium-exact", old: "HIGH_SPEED", downMbps: 3_200, upMbps: 2_400, expected: "MEDIUM" },
  { name: "medium-up-short", old: "HIGH_SPEED", downMbps: 3_200, upMbps: 2_399, expected: "LOW" },
  { name: "high-exact", old: "HIGH_SPEED", downMbps: 6_400, upMbps: 4_800, expected: "HIGH" },
  { name: "high-down-short", old: "HIGH_SPEED", downMbps: 6_399, upMbps: 100_000, expected: "MEDIUM" },
  { name: "dc-10g", old: "ULTRA_HIGH_SPEED", downMbps: 10_000, upMbps: 10_000, expected: "HIGH" },
  { name: "ultra-exact", old: "STANDARD", downMbps: 12_800, upMbps: 9_600, expected: "ULTRA_HIGH" },
  { name: "ultra-up-short", old: "ULTRA_HIGH_SPEED", downMbps: 100_000, upMbps: 9_599, expected: "HIGH" },
  { name: "dc-100g", old: "ULTRA_HIGH_SPEED", downMbps: 100_000, upMbps: 100_000, expected: "ULTRA_HIGH" },
];

const CLUSTERS: { old: string; expected: string }[] = [
  { old: "STANDARD", expected: "LOW" },
  { old: "HIGH_SPEED", expected: "MEDIUM" },
  { old: "ULTRA_HIGH_SPEED", expected: "ULTRA_HIGH" },
];

const deviceIds = new Map<string, string>();
const clusterIds = new Map<string, string>();

beforeAll(async () => {
  database = await createTestDatabase("tiers_migration", { empty: true });
  raw = new pg.Client({ connectionString: database.url });
  await raw.connect();
  const before = mkdtempSync(path.join(os.tmpdir(), "migrations-before-tiers-"));
  cpSync(MIGRATIONS_DIR, before, { recursive: true });
  for (const migration of listMigrations()) if (migration.name >= TIERS_MIGRATION) rmSync(path.join(before, migration.name), { recursive: true });
  await migrate(database.url, { dir: before });

  const account = randomUUID();
  const supplier = randomUUID();
  await raw.query(`insert into account (id, wallet_address) values ($1, 'TiersMigrationWallet1111111111111111111111')`, [account]);
  await raw.query(`insert into supplier (id, account_id, name) values ($1, $2, 'tiers')`, [supplier, account]);
  for (const d of DEVICES) {
    const id = randomUUID();
    deviceIds.set(d.name, id);
    await raw.query(
      `insert into device (id, supplier_id, name, gpu_model_id, gpu_count, vram_gb, cpu_model, cpu_cores, ram_gb, disk_gb, region, country, city,
                           bandwidth_down_mbps, bandwidth_up_mbps, connectivity_tier, price_per_gpu_hour)
       values ($1, $2, $3, null, 0, 0, 'EPYC', 64, 256, 2000, 'us-east', 'US', 'Ashburn', $4, $5, $6::"ConnectivityTier", 1000000)`,
      [id, supplier, d.name, d.downMbps, d.upMbps, d.old],
    );
  }
  for (const c of CLUSTERS) {
    const id = randomUUID();
    clusterIds.set(c.old, id);
    await raw.query(
      `insert into cluster (id, renter_id, name, type, gpu_model_ids, gpu_count, regions, connectivity_tier, supplier_networks, duration_hours,
                            price_per_second, deposit_amount)
       values ($1, $2, $3, 'RAY', '{h100-80gb}', 8, '{us-east}', $4::"ConnectivityTier", '{GPUMESH}', 2, 100, 720000)`,
      [id, account, `tiers-${c.old.toLowerCase()}`, c.old],
    );
  }
  await raw.query(
    `insert into capacity_shape (gpu_model_id, gpu_count, region, connectivity_tier, min_verification_bps, single_node, any_nodes, free_gpus, taken_at)
     values ('h100-80gb', 8, '*', 'HIGH_SPEED', 7000, 1, 1, 8, now())`,
  );

  applied = await migrate(database.url);
});

afterAll(async () => {
  await raw?.end();
  await database?.drop();
});

describe(`migration ${TIERS_MIGRATION}`, () => {
  it("is the only one applied on top, and leaves no drift from prisma/schema.prisma", async () => {
    expect(applied).toEqual(listMigrations().filter((m) => m.name >= TIERS_MIGRATION).map((m) => m.name));
    expect(applied[0]).toBe(TIERS_MIGRATION);
    expect(await schemaDrift(database.url)).toEqual([]);
  });

  it("reclassifies every device from its measured bandwidth, as core's connectivityTierFor does, whatever its old tier", async () => {
    const { rows } = await raw.query<{ name: string; connectivity_tier: string; bandwidth_down_mbps: number; bandwidth_up_mbps: number }>(
      `select name, connectivity_tier::text, bandwidth_down_mbps, bandwidth_up_mbps from device`,
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    for (const d of DEVICES) {
      const row = byName.get(d.name)!;
      expect(row.connectivity_tier, d.name).toBe(d.expected);
      expect(row.connectivity_tier, d.name).toBe(connectivityTierFor({ bandwidthDownMbps: row.bandwidth_down_mbps, bandwidthUpMbps: row.bandwidth_up_mbps }));
    }
  });

  it("maps each cluster's required tier to the lowest new tier that keeps its promise", async () => {
    const { rows } = await raw.query<{ id: string; connectivity_tier: string }>(`select id::text, connectivity_tier::text from cluster`);
    const byId = new Map(rows.map((row) => [row.id, row.connectivity_tier]));
    for (const c of CLUSTERS) expect(byId.get(clusterIds.get(c.old)!), c.old).toBe(c.expected);
  });

  it("defaults new rows to LOW and refuses the old names", async () => {
    const { rows } = await raw.query<{ device: string; cluster: string }>(
      `select (select column_default from information_schema.columns where table_name = 'device' and column_name = 'connectivity_tier') as device,
              (select column_default from information_schema.columns where table_name = 'cluster' and column_name = 'connectivity_tier') as cluster`,
    );
    expect(rows[0]).toEqual({ device: `'LOW'::"ConnectivityTier"`, cluster: `'LOW'::"ConnectivityTier"` });
    await expect(raw.query(`select 'HIGH_SPEED'::"ConnectivityTier"`)).rejects.toThrow(/invalid input value for enum/);
    const old = await raw.query(`select 1 from pg_type where typname = 'ConnectivityTier_old'`);
    expect(old.rowCount).toBe(0);
  });

  it("empties the capacity snapshot written with the old tier names (the next rollup rewrites it)", async () => {
    const { rows } = await raw.query<{ n: number }>(`select count(*)::int as n from capacity_shape`);
    expect(rows[0]!.n).toBe(0);
  });

  it("keeps the placement feed's device trigger: a tier change notifies, a heartbeat does not", async () => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on("notification", (message) => heard.push(message.payload ?? ""));
      await listener.query("listen gpumesh_placement");
      const id = deviceIds.get("gigabit")!;
      await raw.query(`update device set last_heartbeat_at = now() where id = $1`, [id]);
      await raw.query(`update device set connectivity_tier = 'MEDIUM' where id = $1`, [id]);
      // A round trip on the listener delivers what was committed before it.
      await listener.query("select 1");
      expect(heard).toEqual([id]);
    } finally {
      await listener.end();
    }
  });
});
