import { cpSync, mkdtempSync, appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { ClusterStatus, ClusterType, ConnectivityTier, DeviceStatus, PaymentToken, SecurityTier, SupplierNetwork, BillingPeriod } from "@gpumesh/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listMigrations, migrate, MigrationError, MIGRATIONS_DIR } from "../src/migrate.ts";
import { schemaDrift, expectedShape } from "../src/drift.ts";

let database: TestDatabase;
let raw: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase("migrations");
  raw = new pg.Client({ connectionString: database.url });
  await raw.connect();
});

afterAll(async () => {
  await raw.end();
  await database.drop();
});

describe("migration runner", () => {
  it("records every migration in Prisma's table with the file's sha256, and re-running applies nothing", async () => {
    const { rows } = await raw.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      `select migration_name, checksum, finished_at, applied_steps_count from "_prisma_migrations" order by migration_name`,
    );
    const files = listMigrations();
    expect(rows.map((row) => row.migration_name)).toEqual(files.map((file) => file.name));
    expect(rows.map((row) => row.checksum)).toEqual(files.map((file) => file.checksum));
    expect(rows.every((row) => row.finished_at !== null && row.applied_steps_count === 1)).toBe(true);
    expect(await migrate(database.url)).toEqual([]);
  });

  it("refuses to run when an applied migration was edited afterwards", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "migrations-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    appendFileSync(path.join(dir, listMigrations()[0]!.name, "migration.sql"), "\n-- edited\n");
    await expect(migrate(database.url, { dir })).rejects.toThrow(MigrationError);
    await expect(migrate(database.url, { dir })).rejects.toThrow(/modified after it was applied/);
  });

  it("rolls back a failing migration completely", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "migrations-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    const broken = path.join(dir, "99990101000000_broken");
    cpSync(path.join(MIGRATIONS_DIR, listMigrations()[0]!.name), broken, { recursive: true });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(broken, "migration.sql"), `create table "half_done" (id int);\nselect * from "no_such_table";\n`);
    await expect(migrate(database.url, { dir })).rejects.toThrow(/99990101000000_broken failed and was rolled back/);
    const leftovers = await raw.query(`select 1 from pg_class where relname = 'half_done'`);
    expect(leftovers.rowCount).toBe(0);
    const recorded = await raw.query(`select 1 from "_prisma_migrations" where migration_name = '99990101000000_broken'`);
    expect(recorded.rowCount).toBe(0);
  });
});

describe("schema drift", () => {
  it("finds no drift between prisma/schema.prisma and the migrated database", async () => {
    expect(await schemaDrift(database.url)).toEqual([]);
  });

  it("reports a missing column, a changed type, a lost index and a new enum value", async () => {
    const scratch = await createTestDatabase("drift");
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await client.query(`alter table device drop column country`);
      await client.query(`alter table device alter column name type text`);
      await client.query(`drop index "payment_account_id_created_at_idx"`);
      await client.query(`alter type "DeviceStatus" add value 'RETIRED'`);
      await client.query(`alter table claim alter column epoch drop not null`);
      const drift = await schemaDrift(scratch.url);
      expect(drift).toEqual(
        expect.arrayContaining([
          "column device.country is in the schema but not in the database",
          "column device.name has type text in the database, character varying(80) in the schema",
          "index payment(account_id, created_at) index is in the schema but not in the database",
          "enum DeviceStatus has values [REGISTERED, ONLINE, OFFLINE, SUSPENDED, RETIRED] in the database, [REGISTERED, ONLINE, OFFLINE, SUSPENDED] in the schema",
          "column claim.epoch is nullable in the database, NOT NULL in the schema",
        ]),
      );
      expect(drift).toHaveLength(5);
    } finally {
      await client.end();
      await scratch.drop();
    }
  });

  it("keeps the domain enums in packages/core identical to the database enums", () => {
    const { enums } = expectedShape();
    const core = { SupplierNetwork, SecurityTier, ConnectivityTier, DeviceStatus, ClusterType, BillingPeriod, PaymentToken, ClusterStatus };
    for (const [name, schema] of Object.entries(core)) expect(enums.get(name), name).toEqual(schema.options);
  });
});
