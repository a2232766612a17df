import { randomBytes } from "node:crypto";
import pg from "pg";
import { freePort } from "./ports.ts";
import { startPostgres, throwawayDataDir, type RunningPostgres } from "./postgres.ts";
import { startRedis, type RunningRedis } from "./redis.ts";

/**
 * Real Postgres and Redis for a test run. One throwaway cluster serves every test file: a migrated
 * template database is prepared once and each test file clones it (`CREATE DATABASE … TEMPLATE`), which
 * takes milliseconds and isolates files from each other.
 */
export const TEST_ENV = {
  pgAdminUrl: "GPUMESH_TEST_PG_URL",
  pgTemplate: "GPUMESH_TEST_PG_TEMPLATE",
  redisUrl: "GPUMESH_TEST_REDIS_URL",
} as const;

const TEMPLATE = "gpumesh_template";

export interface TestServices {
  postgres: RunningPostgres;
  redis: RunningRedis;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestServices(options: { prepareTemplate: (url: string) => Promise<unknown> }): Promise<TestServices> {
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("test"), port: await freePort(), database: TEMPLATE, persistent: false });
  let redis: RunningRedis;
  try {
    await options.prepareTemplate(postgres.url);
    redis = await startRedis({ port: await freePort() });
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  const env = { [TEST_ENV.pgAdminUrl]: postgres.urlFor("postgres"), [TEST_ENV.pgTemplate]: TEMPLATE, [TEST_ENV.redisUrl]: redis.url };
  return {
    postgres,
    redis,
    env,
    async stop() {
      await Promise.allSettled([redis.stop(), postgres.stop()]);
    },
  };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests with \`pnpm test\` (or vitest with the root config), which starts Postgres and Redis`);
  return value;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file; `{ empty: true }` gives one without any migration
 * applied (Postgres' template0), for tests that migrate step by step.
 */
export async function createTestDatabase(label = "t", options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = requireEnv(TEST_ENV.pgAdminUrl);
  const template = options.empty ? "template0" : requireEnv(TEST_ENV.pgTemplate);
  const name = `${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase().slice(0, 40)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        // Two clones of one template at the same instant: Postgres refuses the second; try again.
        if (attempt < 20 && error instanceof Error && /being accessed by other users/.test(error.message)) {
          await new Promise((resolve) => setTimeout(resolve, 50 + attempt * 25));
          continue;
        }
        throw error;
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The test run's Redis, with a key prefix unique to the caller so files do not see each other's queues. */
export function testRedis(): { url: string; prefix: string } {
  return { url: requireEnv(TEST_ENV.redisUrl), prefix: `test-${randomBytes(4).toString("hex")}` };
}
