import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in order and records each in Prisma's own
 * `_prisma_migrations` table (same columns, sha256 checksum of the file), so that `prisma migrate
 * deploy` on a machine that has Prisma's schema engine sees them as applied. Prisma's CLI cannot run
 * migrations here (it downloads its engine at start), hence this runner.
 *
 * Each migration runs in its own transaction (Postgres DDL is transactional): it applies fully or not
 * at all. An advisory lock serialises concurrent runners (two `pnpm dev`, parallel test workers).
 */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../prisma/migrations");

const LOCK_KEY = 72_657_100; // arbitrary, constant: "gpumesh migrations"

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export async function migrate(url: string, options: { dir?: string; log?: (line: string) => void } = {}): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query("select pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      `select migration_name, checksum, finished_at from "_prisma_migrations" where rolled_back_at is null`,
    );
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));
    for (const migration of listMigrations(options.dir)) {
      const previous = recorded.get(migration.name);
      if (previous) {
        if (!previous.finished_at) throw new MigrationError(`migration ${migration.name} started earlier but never finished; inspect the database before retrying`);
        if (previous.checksum !== migration.checksum) throw new MigrationError(`migration ${migration.name} was modified after it was applied (checksum differs); add a new migration instead`);
        continue;
      }
      await client.query("begin");
      try {
        const id = randomUUID();
        await client.query(`insert into "_prisma_migrations" (id, checksum, migration_name) values ($1, $2, $3)`, [id, migration.checksum, migration.name]);
        await client.query(migration.sql);
        await client.query(`update "_prisma_migrations" set finished_at = now(), applied_steps_count = 1 where id = $1`, [id]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new MigrationError(`migration ${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(migration.name);
      log(`applied migration ${migration.name}`);
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
  return applied;
}
