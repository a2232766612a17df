import { clusterEventChannel, type ClusterTransitionEvent } from "@gpumesh/core";
import { createDb, type Db } from "@gpumesh/db";
import { Queue, Worker, type ConnectionOptions, type Job, type WorkerOptions } from "bullmq";
import { Redis } from "ioredis";
import { pino, type Logger } from "pino";
import { startAdminServer, type AdminServer } from "./admin.ts";
import { NullAgentChannel, SimulatedAgentChannel, type AgentChannel, type AgentResponse } from "./agents.ts";
import { RecordingChainSettlement, type ChainSettlement } from "./chain.ts";
import type { SchedulerEnv } from "./env.ts";
import { advanceDeploy, handleAgentResponse, handleNodeLost, type DeployDeps } from "./jobs/deploy.ts";
import { lostAllocations, sweepStaleDevices } from "./jobs/health.ts";
import { endCluster, findSettlementWork, settlePeriod, type SettleDeps } from "./jobs/settle.ts";
import { DEFAULT_JOB_OPTIONS, jobIds, QUEUES } from "./queues.ts";

export interface RunningScheduler {
  db: Db;
  queues: { health: Queue; deploy: Queue; settle: Queue };
  agents: AgentChannel;
  chain: ChainSettlement;
  /** Enqueues the deploy workflow of a paid cluster (what the payment path calls). Idempotent. */
  enqueueDeploy(clusterId: string): Promise<void>;
  /** Ends a lease early (renter's terminate). Idempotent. */
  enqueueEnd(clusterId: string, reason: string): Promise<void>;
  /** URL of the queue dashboard when it is served. */
  adminUrl: string | undefined;
  stop(options?: { force?: boolean }): Promise<void>;
}

export interface SchedulerOptions {
  /** Agent channel (default from AGENT_CHANNEL). */
  agents?: AgentChannel;
  chain?: ChainSettlement;
  /** Worker tuning (tests shorten lockDuration/stalledInterval to exercise crash recovery quickly). */
  workerOptions?: Pick<WorkerOptions, "lockDuration" | "stalledInterval" | "maxStalledCount">;
  /** Serve the dashboard on this port (0 = any free port; tests) even if ADMIN_PORT is 0. */
  adminPort?: number;
  /** Run no repeating sweeps (tests that drive jobs themselves). */
  sweeps?: boolean;
  now?: () => Date;
}

function redisConnection(url: string): ConnectionOptions {
  // BullMQ workers block on Redis; maxRetriesPerRequest must be null for them.
  return { url, maxRetriesPerRequest: null } as ConnectionOptions;
}

type DeployJobData = { clusterId: string } | AgentResponse | { clusterId: string; allocationId: string; reason: string };

/** Starts the queues, their workers and the repeating jobs. */
export async function startScheduler(
  env: SchedulerEnv,
  logger: Logger = pino({ level: env.LOG_LEVEL, name: "scheduler" }),
  options: SchedulerOptions = {},
): Promise<RunningScheduler> {
  const db = createDb(env.DATABASE_URL, { max: Math.max(5, env.DEPLOY_CONCURRENCY + 4) });
  const connection = redisConnection(env.REDIS_URL);
  const base = { connection, prefix: env.QUEUE_PREFIX };
  const queueOptions = { ...base, defaultJobOptions: DEFAULT_JOB_OPTIONS };
  const health = new Queue(QUEUES.health, queueOptions);
  const deploy = new Queue<DeployJobData>(QUEUES.deploy, queueOptions);
  const settle = new Queue(QUEUES.settle, queueOptions);
  // Pub/sub needs its own connection; publishing is best effort (the ClusterEvent row is the record).
  const publisher = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });
  publisher.on("error", (error) => logger.debug({ err: error }, "event publisher connection error"));
  const publish = async (event: ClusterTransitionEvent) => publisher.publish(clusterEventChannel(event.clusterId), JSON.stringify(event));

  const agents = options.agents ?? (env.AGENT_CHANNEL === "simulated" ? new SimulatedAgentChannel() : new NullAgentChannel());
  const chain = options.chain ?? new RecordingChainSettlement();
  // Agent answers become durable jobs at once, so they survive a restart and are processed like any step.
  agents.onResponse((response) =>
    deploy.add("agent-response", response, { jobId: jobIds.agentResponse(response.clusterId, response.allocationId) }),
  );

  const deployDeps: DeployDeps = {
    db,
    inflight: new Set<string>(),
    agents,
    publish,
    logger,
    ...(options.now ? { now: options.now } : {}),
    config: {
      ackTimeoutMs: env.DEPLOY_ACK_TIMEOUT_S * 1000,
      maxReplacements: env.DEPLOY_MAX_REPLACEMENTS,
      maxReserveAttempts: env.DEPLOY_MAX_RESERVE_ATTEMPTS,
      minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS,
    },
    schedule: {
      async ackDeadline(clusterId, allocationId, at) {
        const delay = Math.max(0, at.getTime() - Date.now()) + 250; // fire just after the deadline
        await deploy.add("ack-deadline", { clusterId }, { jobId: jobIds.ackDeadline(clusterId, allocationId), delay });
      },
      async running(clusterId, endsAt) {
        await settle.add("end", { clusterId, reason: "lease reached its paid end" }, { jobId: jobIds.end(clusterId, "expiry"), delay: Math.max(0, endsAt.getTime() - Date.now()) });
      },
      async endEarly(clusterId, reason) {
        await settle.add("end", { clusterId, reason }, { jobId: jobIds.end(clusterId, "degraded") });
      },
    },
  };
  const settleDeps: SettleDeps = {
    db,
    agents,
    chain,
    publish,
    logger,
    ...(options.now ? { now: options.now } : {}),
    config: { feeBps: BigInt(env.FEE_BPS), burnBps: BigInt(env.BURN_BPS) },
  };
  const now = options.now ?? (() => new Date());

  if (options.sweeps !== false) {
    await health.upsertJobScheduler(jobIds.healthSweep, { every: env.HEALTH_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
    await deploy.upsertJobScheduler(jobIds.deploySweep, { every: env.DEPLOY_SWEEP_EVERY_S * 1000 }, { name: "sweep", data: { clusterId: "" } });
    await settle.upsertJobScheduler(jobIds.settleSweep, { every: env.SETTLE_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
  }

  const workerOptions = { ...base, ...options.workerOptions };
  const healthWorker = new Worker(
    QUEUES.health,
    async (job) => {
      if (job.name !== "sweep") throw new Error(`unknown health job ${job.name}`);
      const offline = await sweepStaleDevices(db, env.DEVICE_OFFLINE_AFTER_S);
      if (offline.length) logger.info({ count: offline.length }, "devices missed their heartbeat deadline: marked offline");
      // Follow-up: every cluster that held one of them loses that node (replacement or pro-rata end).
      // Looked up from all OFFLINE devices, not just this sweep's, so a crash between the two steps
      // is repaired by the next sweep.
      const lost = await lostAllocations(db);
      await deploy.addBulk(
        lost.map((a) => ({
          name: "node-lost",
          data: { clusterId: a.clusterId, allocationId: a.id, reason: a.deviceStatus === "OFFLINE" ? `device ${a.deviceId} missed its heartbeat deadline` : `device ${a.deviceId} is ${a.deviceStatus.toLowerCase()}` },
          opts: { jobId: jobIds.nodeLost(a.clusterId, a.id) },
        })),
      );
      return lost.length ? { offline: offline.length, lostNodes: lost.length } : { offline: offline.length };
    },
    { ...workerOptions, concurrency: 1 },
  );

  const deployWorker = new Worker<DeployJobData>(
    QUEUES.deploy,
    async (job: Job<DeployJobData>) => {
      switch (job.name) {
        case "deploy":
        case "ack-deadline":
        case "nudge":
          return advanceDeploy(deployDeps, (job.data as { clusterId: string }).clusterId);
        case "agent-response":
          return handleAgentResponse(deployDeps, job.data as AgentResponse);
        case "node-lost": {
          const data = job.data as unknown as { clusterId: string; allocationId: string; reason: string };
          return handleNodeLost(deployDeps, data.clusterId, data.allocationId, data.reason);
        }
        case "sweep": {
          // Recovery: deployments (and degraded clusters) nobody has touched for a sweep interval (a lost job, a crash between
          // steps, a paid cluster whose deploy job was never enqueued) get a nudge.
          const every = env.DEPLOY_SWEEP_EVERY_S * 1000;
          const stuck = await db.cluster.findMany({
            where: { status: { in: ["PAID", "MATCHING", "DEPLOYING", "DEGRADED", "FAILED"] }, updatedAt: { lt: new Date(now().getTime() - every) } },
            select: { id: true },
            take: 1_000,
          });
          const slot = Math.floor(now().getTime() / every);
          await deploy.addBulk(stuck.map((c) => ({ name: "nudge", data: { clusterId: c.id }, opts: { jobId: jobIds.deployNudge(c.id, slot) } })));
          return { nudged: stuck.length };
        }
        default:
          throw new Error(`unknown deploy job ${job.name}`);
      }
    },
    { ...workerOptions, concurrency: env.DEPLOY_CONCURRENCY },
  );

  const settleWorker = new Worker(
    QUEUES.settle,
    async (job) => {
      switch (job.name) {
        case "sweep": {
          const work = await findSettlementWork(db, now());
          await settle.addBulk([
            ...work.periods.map((p) => ({
              name: "period",
              data: { clusterId: p.clusterId, periodStart: p.periodStart.toISOString() },
              opts: { jobId: jobIds.settlePeriod(p.clusterId, p.periodStart) },
            })),
            ...work.ends.map((clusterId) => ({ name: "end", data: { clusterId, reason: "lease reached its paid end" }, opts: { jobId: jobIds.end(clusterId, "expiry") } })),
          ]);
          return { periods: work.periods.length, ends: work.ends.length };
        }
        case "period": {
          const data = job.data as { clusterId: string; periodStart: string };
          const settled = await settlePeriod(settleDeps, data.clusterId, new Date(data.periodStart));
          return settled ? { created: settled.created, gross: settled.split.gross.toString() } : null;
        }
        case "end": {
          const data = job.data as { clusterId: string; reason: string };
          const ended = await endCluster(settleDeps, data.clusterId, data.reason);
          return ended ? { refund: ended.refund.toString() } : null;
        }
        default:
          throw new Error(`unknown settle job ${job.name}`);
      }
    },
    { ...workerOptions, concurrency: 4 },
  );

  const workers = [healthWorker, deployWorker, settleWorker];
  for (const worker of workers) {
    // Failed jobs stay in Redis (removeOnFail keeps them for 30 days) for inspection in the dashboard.
    worker.on("failed", (job, error) => logger.error({ queue: worker.name, job: job?.id, attempts: job?.attemptsMade, err: error }, "job failed"));
    worker.on("error", (error) => logger.warn({ queue: worker.name, err: error }, "worker error"));
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  let admin: AdminServer | undefined;
  if (env.ADMIN_PORT > 0 || options.adminPort !== undefined) {
    try {
      admin = await startAdminServer({ port: options.adminPort ?? env.ADMIN_PORT, host: env.ADMIN_HOST, token: env.ADMIN_TOKEN, queues: [health, deploy as Queue, settle], logger });
    } catch (error) {
      // Do not leave workers running behind a scheduler that failed to start.
      await Promise.allSettled(workers.map((worker) => worker.close()));
      await Promise.allSettled([health.close(), deploy.close(), settle.close(), agents.close(), db.$disconnect()]);
      publisher.disconnect();
      throw error;
    }
  }
  logger.info({ queues: Object.values(QUEUES) }, "scheduler started");

  return {
    db,
    queues: { health, deploy: deploy as Queue, settle },
    agents,
    chain,
    adminUrl: admin?.url,
    async enqueueDeploy(clusterId) {
      await deploy.add("deploy", { clusterId }, { jobId: jobIds.deploy(clusterId) });
    },
    async enqueueEnd(clusterId, reason) {
      await settle.add("end", { clusterId, reason }, { jobId: jobIds.end(clusterId, "request") });
    },
    async stop(stopOptions = {}) {
      // force: do not wait for active jobs (simulates a killed process; their locks expire and another
      // worker picks them up as stalled).
      await admin?.close();
      await Promise.all(workers.map((worker) => worker.close(stopOptions.force ?? false)));
      await agents.close();
      await Promise.all([health.close(), deploy.close(), settle.close()]);
      publisher.disconnect();
      await db.$disconnect();
      logger.info("scheduler stopped");
    },
  };
}
