/**
 * Deploy benchmark (issue #10): control-plane latency from PAID to RUNNING for an 8-node cluster,
 * driven by the real scheduler (BullMQ workers over a real Redis, Postgres the truth) with simulated
 * agents. Goal: p99 under 2 s.
 *
 * Method: a throwaway embedded Postgres, migrated and seeded with `seedSimulatedNetwork` (the dev
 * seed's simulated network), and a throwaway `redis-server`. The scheduler is started in this process
 * with `startScheduler` (what apps/scheduler/src/main.ts runs), default settings (8 deploy jobs at
 * once, 120 s ack timeout), the repeating sweeps off (as in the scheduler's deploy tests: none is on
 * the paid → running path, and the verify sweep would run the simulated agents' proof-of-work
 * multiplications inside this process), and a `SimulatedAgentChannel` that acknowledges each
 * assignment after `ackDelayMs` (20 ms: the channel's default, what AGENT_CHANNEL=simulated uses).
 *
 * Per iteration: a held quote for 64 GPUs of one datacenter model on one continent (8 devices of 8
 * GPUs: 8 allocations, checked) from a new renter, with `createHeldQuote`; then what the web's pay
 * service does once open_lease is confirmed (apps/web/src/server/services/quotes/pay-quote.ts): the
 * lease id, the CONFIRMED deposit Payment row and the lease's address and rates on the cluster, then
 * `transitionCluster(db, id, "PAID", …)`, then the deploy job on the deploy queue (the producer's
 * `deploy/<cluster>` job). The clock starts when the PAID transition has committed and stops when a
 * Redis subscriber to the cluster's event channel (what the renter's page streams) receives the
 * RUNNING event, which the scheduler publishes after its commit. In between, all scheduler work: the
 * deploy job (deposit journal, PAID → MATCHING claiming the held devices, → DEPLOYING), 8 assignments
 * each with its ack-deadline job, 8 acks turned into `agent-response` jobs, and the step that finds
 * all 8 acknowledged and moves to RUNNING. The cluster_event rows' `at` and the times the agents were
 * handed their assignments and sent their acks split the time into phases. One cluster at a time;
 * every cluster keeps running.
 *
 * Baselines, same process and database, interleaved with the measured clusters (one per iteration
 * while `directClusters` lasts) so that both see the same machine load: "direct", the same workflow functions called
 * in-line with no queue, no Redis and no ack delay (`advanceDeploy`, then `handleAgentResponse` for
 * each of the 8 assignments in turn); and the single-statement REQUESTED → PAID transition itself.
 */
import os from "node:os";
import { readFileSync } from "node:fs";
import { GPU_MODELS, REGIONS, type ClusterRequestInput, type ClusterTransitionEvent } from "@gpumesh/core";
import { countDoubleBookings, createDb, createHeldQuote, migrate, seedSimulatedNetwork, transitionCluster } from "@gpumesh/db";
import { freePort, startPostgres, startRedis, throwawayDataDir } from "@gpumesh/devstack";
import { SimulatedAgentChannel, type AgentAssignment, type AgentChannel, type AgentResponseListener } from "../apps/scheduler/src/agents.ts";
import { loadSchedulerEnv } from "../apps/scheduler/src/env.ts";
import { advanceDeploy, handleAgentResponse, type DeployDeps } from "../apps/scheduler/src/jobs/deploy.ts";
import { startScheduler } from "../apps/scheduler/src/scheduler.ts";
import { postgresCpuMs } from "./quote.ts";

export interface DeployBenchOptions {
  /** Devices seeded (`seedSimulatedNetwork`); every measured cluster keeps its 8 devices. */
  devices: number;
  /** Clusters measured through the scheduler. */
  clusters: number;
  /** Clusters of the in-line baseline (interleaved: one per iteration until done). */
  directClusters: number;
  /** The simulated agents' delay before acknowledging an assignment. */
  ackDelayMs: number;
  log?: (line: string) => void;
}

export const DEPLOY_FULL: DeployBenchOptions = { devices: 10_000, clusters: 200, directClusters: 100, ackDelayMs: 20 };
export const DEPLOY_QUICK: DeployBenchOptions = { devices: 1_500, clusters: 12, directClusters: 6, ackDelayMs: 20 };

const NODES = 8;
const GOAL_MS = 2_000;

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Per-phase medians (ms), see `Phases`. */
export interface DeployBenchResult {
  devices: number;
  clusters: number;
  ackDelayMs: number;
  /** PAID committed → RUNNING event received by a subscriber: the figure against the goal. */
  observed: Stats;
  /** RUNNING event row's `at` − PAID event row's `at` (the scheduler's own stamps). */
  recorded: Stats;
  /** Median (p50) and p95 of each phase, ms. */
  phases: Record<keyof Phases, { p50: number; p95: number }>;
  direct: Stats;
  /** The REQUESTED → PAID transition, one statement. */
  paidStatement: Stats;
  quote: Stats;
  /** Mean CPU per measured cluster inside its window (ms): this process (scheduler + bench), Postgres, Redis. */
  cpuPerCluster: { nodeMs: number; postgresMs: number; redisMs: number };
  cpuPerDirect: { nodeMs: number; postgresMs: number };
  /** Assignments handed to the agents per measured cluster: 8, plus the re-sends of still-pending ones by each agent-response job. */
  assignsPerCluster: number;
  /** Redis commands served during the measured loop per measured cluster (those inside Lua scripts included), and the script calls. */
  redisCommandsPerCluster: { all: number; scripts: number };
  goalMet: boolean;
  load: [number, number];
  /** Warnings and errors the scheduler logged during the run (a retried job shows here). */
  schedulerProblems: string[];
  doubleBookings: number;
}

/** Phases of one measured cluster, ms; they add up to `observed`. */
interface Phases {
  /** PAID commit → enqueue, a worker takes the deploy job and reads the cluster: MATCHING's `at`. */
  pickup: number;
  /** → DEPLOYING's `at`: deposit journal + move + claim of the held devices in one statement, the allocations read. */
  claim: number;
  /** → the 8th assignment handed to the agents: the DEPLOYING statement, two reads, 8 × (assign, ack-deadline enqueue). */
  assign: number;
  /** → the last ack emitted by the simulated agents (includes the fixed ack delay). */
  ackWait: number;
  /** → RUNNING's `at`: the last agent-response job picked up, its ack written, the deploy step started. */
  ackJob: number;
  /** → RUNNING received by the subscriber: the allocations read, the RUNNING transaction, publish. */
  runningStep: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s.at(-1) ?? 0, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}
const fmt = (s: Stats) => `p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
/** Wall-clock ms with sub-ms precision, comparable with the Date stamps the scheduler writes. */
const wall = () => performance.timeOrigin + performance.now();

/** CPU time (ms) of one process, from /proc (Linux; 0 elsewhere). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** The simulated agents, with the wall time of each assignment and each ack per cluster. */
class TimedAgents implements AgentChannel {
  readonly assigns = new Map<string, number[]>();
  readonly acks = new Map<string, number[]>();
  constructor(private readonly inner: SimulatedAgentChannel) {}
  async assign(deviceId: string, assignment: AgentAssignment): Promise<void> {
    await this.inner.assign(deviceId, assignment);
    const list = this.assigns.get(assignment.clusterId) ?? [];
    list.push(wall());
    this.assigns.set(assignment.clusterId, list);
  }
  revoke(deviceId: string, allocationId: string, reason: string): Promise<void> {
    return this.inner.revoke(deviceId, allocationId, reason);
  }
  onResponse(listener: AgentResponseListener): void {
    this.inner.onResponse((response) => {
      const list = this.acks.get(response.clusterId) ?? [];
      list.push(wall());
      this.acks.set(response.clusterId, list);
      return listener(response);
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const DATACENTER_MODELS = ["h100-80gb", "a100-80gb", "l40s", "a100-40gb"].filter((id) => GPU_MODELS.some((m) => m.id === id));

/** Eight datacenter markets: four models × two continents; the iteration picks one in turn. */
function markets(): { gpuModelId: string; regions: string[] }[] {
  const models = DATACENTER_MODELS;
  const continents = ["North America", "Europe"].map((c) => REGIONS.filter((r) => r.continent === c).map((r) => r.id));
  return continents.flatMap((regions) => models.map((gpuModelId) => ({ gpuModelId, regions })));
}

export async function runDeployBench(options: DeployBenchOptions = DEPLOY_FULL): Promise<DeployBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-deploy"), port: await freePort(), database: "bench", persistent: false });
  const redis = await startRedis({ port: await freePort() });
  const db = createDb(postgres.url, { max: 4 });
  const problems: string[] = [];
  let scheduler: Awaited<ReturnType<typeof startScheduler>> | undefined;
  let subscriber:
    | { psubscribe(pattern: string): Promise<unknown>; on(event: "pmessage", listener: (pattern: string, channel: string, message: string) => void): unknown; disconnect(): void }
    | undefined;
  try {
    await migrate(postgres.url);
    const seeded = Date.now();
    await seedSimulatedNetwork(db, { suppliers: Math.max(48, Math.round(options.devices / 25)), devices: options.devices });
    // 64 GPUs of a datacenter model must be 8 servers: the 4-GPU servers go offline (else the cheapest
    // 64 GPUs often mix them in and the quote has 9 or 10 nodes).
    const { count: fourGpu } = await db.device.updateMany({ where: { status: "ONLINE", gpuCount: 4, gpuModelId: { in: DATACENTER_MODELS } }, data: { status: "OFFLINE" } });
    const eightGpu = await db.device.count({ where: { status: "ONLINE", gpuCount: 8 } });
    log(`${options.devices.toLocaleString("en-US")} devices seeded (${eightGpu.toLocaleString("en-US")} online with 8 GPUs; ${fourGpu} 4-GPU datacenter servers set offline) in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

    // The scheduler as main.ts starts it, with a logger that keeps its warnings and errors.
    const note = (level: string) => (object: unknown, message?: string) => {
      const err = (object as { err?: { message?: string } } | undefined)?.err?.message;
      if (problems.length < 50) problems.push(`${level}: ${typeof object === "string" ? object : (message ?? "")}${err ? ` (${err})` : ""}`);
    };
    const ignore = () => undefined;
    const logger = { debug: ignore, info: ignore, warn: note("warn"), error: note("error") } as unknown as Parameters<typeof startScheduler>[1];
    const agents = new TimedAgents(new SimulatedAgentChannel(() => ({ kind: "ack", delayMs: options.ackDelayMs })));
    const env = loadSchedulerEnv({ DATABASE_URL: postgres.url, REDIS_URL: redis.url, LOG_LEVEL: "silent" });
    scheduler = await startScheduler(env, logger, { agents, sweeps: false });
    const running = scheduler;

    // What the renter's page listens to: the cluster's event channel (published after each commit).
    const waiters = new Map<string, { resolve: (at: number) => void; reject: (error: Error) => void }>();
    const client = await running.queues.deploy.client;
    subscriber = client.duplicate() as unknown as NonNullable<typeof subscriber>;
    subscriber.on("pmessage", (_pattern, _channel, message) => {
      const at = wall();
      const event = JSON.parse(message) as ClusterTransitionEvent;
      const waiter = waiters.get(event.clusterId);
      if (!waiter) return;
      if (event.to === "RUNNING") waiter.resolve(at);
      else if (event.to === "FAILED" || event.to === "REFUNDED") waiter.reject(new Error(`cluster ${event.clusterId} went ${event.to}: ${event.reason}`));
    });
    await subscriber.psubscribe("cluster:*");

    // Direct baseline: the same workflow functions in-line, no queue, no Redis, no ack delay.
    const directAssigned = new Map<string, AgentAssignment>();
    const noop = async () => undefined;
    const directDeps: DeployDeps = {
      db,
      inflight: new Set<string>(),
      logger: { debug: ignore, info: ignore, warn: ignore, error: ignore } as unknown as DeployDeps["logger"],
      publish: noop,
      agents: { assign: async (_deviceId, a) => void directAssigned.set(a.allocationId, a), revoke: noop, onResponse: ignore, close: noop },
      schedule: { ackDeadline: noop, running: noop, endEarly: noop, leaseChanged: noop },
      config: { ackTimeoutMs: env.DEPLOY_ACK_TIMEOUT_S * 1000, maxReplacements: env.DEPLOY_MAX_REPLACEMENTS, maxReserveAttempts: env.DEPLOY_MAX_RESERVE_ATTEMPTS, minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS },
    };

    const rates = { feeBps: env.FEE_BPS, burnBps: env.BURN_BPS };
    const choices = markets();
    let iteration = 0;
    const quoteMs: number[] = [];
    const paidMs: number[] = [];
    let infeasible = 0;
    let notEightNodes = 0;
    /**
     * A held 8-node quote, paid as the web's pay service does; returns when PAID has committed.
     * `beforePay` runs just before the PAID statement (CPU snapshots: reading /proc stays out of the window).
     */
    const quoteAndPay = async <T>(beforePay: () => T): Promise<{ clusterId: string; paidAt: number; before: T }> => {
      const renter = await db.account.create({ data: { walletAddress: `BenchDeployRenter${String(iteration).padStart(6, "0")}`.padEnd(44, "1") } });
      for (let attempt = 0; attempt < choices.length; attempt++) {
        const market = choices[(iteration + attempt) % choices.length]!;
        const request: ClusterRequestInput = {
          name: `bench-${iteration}`, type: "CONTAINER", gpuModelIds: [market.gpuModelId], gpuCount: NODES * 8, regions: market.regions, durationHours: 1,
          supplierNetworks: ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"], paymentToken: "USDC",
        };
        const t = performance.now();
        const result = await createHeldQuote(db, { accountId: renter.id, request, now: new Date(), rates, minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS });
        quoteMs.push(performance.now() - t);
        if (!result.ok) {
          infeasible++;
          continue;
        }
        const { clusterId, devices, breakdown } = result.quote;
        if (devices.length !== NODES) {
          // The cheapest 64 GPUs mixed 4-GPU servers in: not an 8-node cluster. Let the quote go (its devices
          // with it, as an expired quote does) and ask the next market.
          notEightNodes++;
          await transitionCluster(db, clusterId, "FAILED", `bench: ${devices.length} nodes, not ${NODES}`, { expectedFrom: "REQUESTED", releaseReason: "bench: quote not used" });
          continue;
        }
        // orderQuote: the lease id; payQuote's recorder: the deposit row, the lease's address and rates, then PAID.
        const leaseId = BigInt(`0x${clusterId.replace(/-/g, "").slice(0, 15)}`);
        const signature = `BenchDeposit${String(iteration).padStart(6, "0")}`.padEnd(88, "1");
        await db.cluster.update({ where: { id: clusterId }, data: { leaseId, leasePda: `BenchLease${String(iteration).padStart(6, "0")}`.padEnd(44, "1"), ...rates } });
        await db.payment.create({
          data: { accountId: renter.id, clusterId, kind: "DEPOSIT", token: "USDC", amount: breakdown.total, txSignature: signature, eventIndex: 0, status: "CONFIRMED", slot: BigInt(1_000 + iteration), confirmedAt: new Date() },
        });
        const before = beforePay();
        const t0 = performance.now();
        const moved = await transitionCluster(db, clusterId, "PAID", `paid: deposit ${signature}`, { expectedFrom: ["REQUESTED"] });
        const paidAt = wall();
        paidMs.push(performance.now() - t0);
        if (!moved.changed) throw new Error(`cluster ${clusterId} did not move to PAID`);
        return { clusterId, paidAt, before };
      }
      throw new Error(`no market could quote ${NODES} × 8 GPUs any more (iteration ${iteration}); seed more devices`);
    };

    const measureQueued = async () => {
      const { clusterId, paidAt, before: cpu } = await quoteAndPay(() => ({ postgres: postgresCpuMs(postgres.pid), redis: processCpuMs(redis.pid), node: process.cpuUsage() }));
      const runningSeen = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cluster ${clusterId} not RUNNING after 60 s`)), 60_000);
        waiters.set(clusterId, {
          resolve: (at) => (clearTimeout(timer), resolve(at)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
      });
      await running.enqueueDeploy(clusterId); // what payQuote does next: producer().deploy(cluster.id)
      const seenAt = await runningSeen;
      const nodeCpu = process.cpuUsage(cpu.node);
      const cpuMs = { node: (nodeCpu.user + nodeCpu.system) / 1000, postgres: postgresCpuMs(postgres.pid) - cpu.postgres, redis: processCpuMs(redis.pid) - cpu.redis };
      waiters.delete(clusterId);
      return { clusterId, paidAt, seenAt, cpuMs };
    };

    const measureDirect = async () => {
      const { clusterId, paidAt, before: cpu } = await quoteAndPay(() => ({ postgres: postgresCpuMs(postgres.pid), node: process.cpuUsage() }));
      directAssigned.clear();
      const first = await advanceDeploy(directDeps, clusterId);
      if (first.state !== "waiting-acks") throw new Error(`direct: cluster ${clusterId} ${JSON.stringify(first)}`);
      let outcome = first as Awaited<ReturnType<typeof advanceDeploy>>;
      for (const a of [...directAssigned.values()]) {
        outcome = await handleAgentResponse(directDeps, { allocationId: a.allocationId, clusterId, deviceId: a.deviceId, accepted: true, at: new Date().toISOString() });
      }
      const doneAt = wall();
      if (outcome.state !== "running") throw new Error(`direct: cluster ${clusterId} ended ${JSON.stringify(outcome)}`);
      const nodeCpu = process.cpuUsage(cpu.node);
      return { ms: doneAt - paidAt, cpuMs: { node: (nodeCpu.user + nodeCpu.system) / 1000, postgres: postgresCpuMs(postgres.pid) - cpu.postgres } };
    };

    // Warm-up (not timed): Prisma's plans, the pools, BullMQ's scripts loaded in Redis.
    for (let i = 0; i < 3; i++, iteration++) await measureQueued();
    for (let i = 0; i < 2; i++, iteration++) await measureDirect();
    quoteMs.length = 0;
    paidMs.length = 0;

    // Redis commands served (all clients: the scheduler's queues, workers, publisher; the in-line baseline
    // uses none), counting the commands run inside BullMQ's Lua scripts; and the script calls themselves.
    const redisCommands = async () => {
      const stats = await (client as unknown as { info(section: string): Promise<string> }).info("commandstats");
      let all = 0;
      let scripts = 0;
      for (const [, command, calls] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        all += Number(calls);
        if (command === "evalsha" || command === "eval") scripts += Number(calls);
      }
      return { all, scripts };
    };
    const commandsBefore = await redisCommands();
    const loadBefore = os.loadavg()[0]!;
    const measured: Awaited<ReturnType<typeof measureQueued>>[] = [];
    const direct: Awaited<ReturnType<typeof measureDirect>>[] = [];
    const started = Date.now();
    for (let i = 0; i < Math.max(options.clusters, options.directClusters); i++) {
      if (i < options.clusters) {
        measured.push(await measureQueued());
        iteration++;
      }
      if (i < options.directClusters) {
        direct.push(await measureDirect());
        iteration++;
      }
    }
    const loadAfter = os.loadavg()[0]!;
    const commandsAfter = await redisCommands();
    const commandsPerCluster = { all: (commandsAfter.all - commandsBefore.all) / measured.length, scripts: (commandsAfter.scripts - commandsBefore.scripts) / measured.length };
    log(`${measured.length} clusters through the scheduler and ${direct.length} in-line in ${((Date.now() - started) / 1000).toFixed(1)} s (quotes that moved on to the next market: ${infeasible} found it full, ${notEightNodes} were not ${NODES} nodes)`);

    // Phases from the rows the scheduler wrote (`at` of each event, the acks' own stamps) and the agents' clock.
    const ids = measured.map((m) => m.clusterId);
    const events = await db.clusterEvent.findMany({ where: { clusterId: { in: ids } }, select: { clusterId: true, fromStatus: true, toStatus: true, at: true } });
    const phaseRows: Phases[] = [];
    const recorded: number[] = [];
    for (const m of measured) {
      const of = (to: string) => events.find((e) => e.clusterId === m.clusterId && e.toStatus === to)?.at.getTime();
      const [paid, matching, deploying, runningAt] = [of("PAID"), of("MATCHING"), of("DEPLOYING"), of("RUNNING")];
      const timeline = events.filter((e) => e.clusterId === m.clusterId).map((e) => `${e.fromStatus}->${e.toStatus}`);
      if (paid === undefined || matching === undefined || deploying === undefined || runningAt === undefined || timeline.length !== 5) {
        throw new Error(`cluster ${m.clusterId}: unexpected timeline ${timeline.join(", ")}`);
      }
      recorded.push(runningAt - paid);
      const assigns = agents.assigns.get(m.clusterId) ?? [];
      const acks = agents.acks.get(m.clusterId) ?? [];
      if (acks.length !== NODES) throw new Error(`cluster ${m.clusterId}: ${acks.length} acks, expected ${NODES}`);
      const lastAssign = Math.max(...assigns.slice(0, NODES));
      const lastAck = Math.max(...acks);
      phaseRows.push({
        pickup: matching - m.paidAt,
        claim: deploying - matching,
        assign: lastAssign - deploying,
        ackWait: lastAck - lastAssign,
        ackJob: runningAt - lastAck,
        runningStep: m.seenAt - runningAt,
      });
    }
    const phaseNames = ["pickup", "claim", "assign", "ackWait", "ackJob", "runningStep"] as const;
    const phases = Object.fromEntries(phaseNames.map((name) => {
      const s = stats(phaseRows.map((p) => p[name]));
      return [name, { p50: s.p50, p95: s.p95 }];
    })) as DeployBenchResult["phases"];
    const acked = await db.allocation.count({ where: { clusterId: { in: ids }, status: "ACTIVE", acknowledgedAt: { not: null } } });
    if (acked !== ids.length * NODES) throw new Error(`${acked} acknowledged allocations, expected ${ids.length * NODES}`);

    const observed = stats(measured.map((m) => m.seenAt - m.paidAt));
    const result: DeployBenchResult = {
      devices: options.devices,
      clusters: measured.length,
      ackDelayMs: options.ackDelayMs,
      observed,
      recorded: stats(recorded),
      phases,
      direct: stats(direct.map((d) => d.ms)),
      paidStatement: stats(paidMs),
      quote: stats(quoteMs),
      cpuPerCluster: {
        nodeMs: measured.reduce((a, m) => a + m.cpuMs.node, 0) / measured.length,
        postgresMs: measured.reduce((a, m) => a + m.cpuMs.postgres, 0) / measured.length,
        redisMs: measured.reduce((a, m) => a + m.cpuMs.redis, 0) / measured.length,
      },
      cpuPerDirect: {
        nodeMs: direct.reduce((a, d) => a + d.cpuMs.node, 0) / Math.max(1, direct.length),
        postgresMs: direct.reduce((a, d) => a + d.cpuMs.postgres, 0) / Math.max(1, direct.length),
      },
      assignsPerCluster: ids.reduce((n, id) => n + (agents.assigns.get(id)?.length ?? 0), 0) / ids.length,
      redisCommandsPerCluster: commandsPerCluster,
      goalMet: observed.p99 < GOAL_MS,
      load: [loadBefore, loadAfter],
      schedulerProblems: problems,
      doubleBookings: await countDoubleBookings(db),
    };
    log(`PAID committed → RUNNING received, ${result.clusters} clusters of ${NODES} nodes: ${fmt(observed)} (goal p99 < ${GOAL_MS} ms: ${result.goalMet ? "met" : "NOT met"})`);
    log(`  same, from the scheduler's own stamps (RUNNING event at − PAID event at): ${fmt(result.recorded)}`);
    log(`  phases, p50 / p95 ms: ${phaseNames.map((n) => `${n} ${phases[n].p50.toFixed(1)} / ${phases[n].p95.toFixed(1)}`).join(", ")} (ackWait includes the simulated agents' fixed ${options.ackDelayMs} ms ack delay)`);
    log(`  assignments handed out per cluster (each followed by its ack-deadline enqueue): ${result.assignsPerCluster.toFixed(1)} for ${NODES} nodes (agent-response jobs re-send the ones still pending); Redis per cluster: ${commandsPerCluster.scripts.toFixed(0)} Lua script calls (BullMQ), ${commandsPerCluster.all.toFixed(0)} commands counting those inside the scripts`);
    log(`  CPU per cluster in its window: node ${result.cpuPerCluster.nodeMs.toFixed(1)} ms (scheduler and bench), postgres ${result.cpuPerCluster.postgresMs.toFixed(1)} ms, redis ${result.cpuPerCluster.redisMs.toFixed(1)} ms`);
    log(`baseline, the same workflow in-line (no queue, no ack delay), ${direct.length} clusters: ${fmt(result.direct)}; CPU node ${result.cpuPerDirect.nodeMs.toFixed(1)} ms, postgres ${result.cpuPerDirect.postgresMs.toFixed(1)} ms → scheduler p50 is ${(observed.p50 / result.direct.p50).toFixed(1)}× the in-line p50`);
    log(`baseline, the REQUESTED → PAID transition (one statement): ${fmt(result.paidStatement)}; createHeldQuote (untimed setup): p50 ${result.quote.p50.toFixed(1)} ms`);
    log(`double bookings ${result.doubleBookings}; scheduler warnings/errors ${problems.length}${problems.length ? `: ${problems.slice(0, 5).join(" | ")}` : ""}; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} on ${os.cpus().length} cores`);
    if (result.doubleBookings !== 0) throw new Error(`deploy bench: double bookings ${result.doubleBookings}`);
    return result;
  } finally {
    subscriber?.disconnect();
    await scheduler?.stop({ force: true });
    await db.$disconnect();
    await redis.stop();
    await postgres.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes("--quick");
  const ackDelay = process.argv.find((a) => a.startsWith("--ack-delay="))?.split("=")[1];
  await runDeployBench({ ...(quick ? DEPLOY_QUICK : DEPLOY_FULL), ...(ackDelay !== undefined ? { ackDelayMs: Number(ackDelay) } : {}) });
}
