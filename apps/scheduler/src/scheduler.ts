import { clusterEventChannel, type ClusterTransitionEvent } from "@gpumesh/core";
import { createDb, LivePlacement, leasesToReconcile, listReconciliations, recordEndRequest, runExplorerRollup, type Db } from "@gpumesh/db";
import { cappedExponentialBackoff, chainJobOptions, DEFAULT_JOB_OPTIONS, enqueueJob, enqueueManyOnce, jobIds, jobs, parseJob, QUEUES, REQUEST_JOB_OPTIONS } from "@gpumesh/queue";
import { Queue, Worker, type ConnectionOptions, type WorkerOptions } from "bullmq";
import { Redis } from "ioredis";
import { pino, type Logger } from "pino";
import { startAdminServer, type AdminServer } from "./admin.ts";
import { createSchedulerMetrics, type SchedulerMetrics } from "./metrics.ts";
import { reconcileLease } from "./jobs/reconcile.ts";
import { GatewayAgentChannel, NullAgentChannel, SimulatedAgentChannel, type AgentChannel } from "./agents.ts";
import { GatewayChainSettlement, RecordingChainSettlement, type ChainSettlement } from "./chain.ts";
import { createChainContext, type ChainContext } from "./chain-context.ts";
import type { SchedulerEnv } from "./env.ts";
import { advanceDeploy, handleAgentResponse, handleNodeLost, type DeployDeps } from "./jobs/deploy.ts";
import { decideVanish, lostAllocations, sweepStaleDevices, vanishDue } from "./jobs/health.ts";
import { stuckDeployments } from "./jobs/deploy-sweep.ts";
import { endCluster, expireLease, findSettlementWork, settlePeriod, type SettleDeps } from "./jobs/settle.ts";
import { terminateCluster } from "./jobs/terminate.ts";
import { expireQuote, findUnfinishedClusters } from "./jobs/unfinished.ts";
import { answerJob, processVerifyJob, type VerifyDeps } from "./jobs/verify.ts";
import { chainIndexPass } from "./jobs/index-chain.ts";
import { nextDueEpoch, runRewardEpoch, type RewardsDeps } from "./jobs/rewards.ts";
import { stakeOrder } from "./jobs/stake-order.ts";
import { slashableOutages, slashForChallenge, slashForOutage } from "./jobs/slash.ts";

export interface RunningScheduler {
  db: Db;
  queues: { health: Queue; deploy: Queue; settle: Queue; verify: Queue; index: Queue; rewards: Queue; explorer: Queue; requests: Queue };
  agents: AgentChannel;
  chain: ChainSettlement;
  /** The chain the settle, rewards and index steps use; null when SOLANA_RPC_URL is unset. */
  chainContext: ChainContext | null;
  /** Enqueues the deploy workflow of a paid cluster (what the payment path calls). Idempotent. */
  enqueueDeploy(clusterId: string): Promise<void>;
  /**
   * The renter's terminate, in any state: before RUNNING it cancels the deployment and refunds it in
   * full; from RUNNING it ends the lease at this call's instant (the first call's). Idempotent.
   */
  enqueueEnd(clusterId: string, reason: string): Promise<void>;
  /** URL of the queue dashboard when it is served. */
  adminUrl: string | undefined;
  /** The live placement index deploy rounds place from (null with PLACEMENT=read). */
  placement: LivePlacement | null;
  /** Prometheus metrics (served at the dashboard's /metrics). */
  metrics: SchedulerMetrics;
  /**
   * Stops taking jobs and waits for the active ones (at most `graceMs`, default: forever); `force`
   * or an expired grace lets go of them instead: their locks expire and a live worker retries them.
   * Resolves `{ drained }`: false when jobs were let go.
   */
  stop(options?: { force?: boolean; graceMs?: number }): Promise<{ drained: boolean }>;
}

export interface SchedulerOptions {
  /** Agent channel (default from AGENT_CHANNEL). */
  agents?: AgentChannel;
  chain?: ChainSettlement;
  /** Overrides the chain built from SOLANA_RPC_URL (null: no chain). */
  chainContext?: ChainContext | null;
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

/**
 * The fee and burn rates the ledger settles at. With a chain they are the program's (its config is
 * what moves the money; FEE_BPS/BURN_BPS only matter without one), so the ledger and the chain never
 * split the same payment differently.
 */
async function settlementRates(env: SchedulerEnv, chain: ChainContext | null, logger: Logger): Promise<{ feeBps: bigint; burnBps: bigint }> {
  if (!chain) return { feeBps: BigInt(env.FEE_BPS), burnBps: BigInt(env.BURN_BPS) };
  const config = await chain.config();
  if (config.feeBps !== env.FEE_BPS || config.burnBps !== env.BURN_BPS) {
    logger.warn({ chainFeeBps: config.feeBps, chainBurnBps: config.burnBps, envFeeBps: env.FEE_BPS, envBurnBps: env.BURN_BPS }, "FEE_BPS/BURN_BPS differ from the program's config: settling at the program's rates");
  }
  return { feeBps: BigInt(config.feeBps), burnBps: BigInt(config.burnBps) };
}

/** Starts the queues, their workers and the repeating jobs. */
export async function startScheduler(
  env: SchedulerEnv,
  logger: Logger = pino({ level: env.LOG_LEVEL, name: "scheduler" }),
  options: SchedulerOptions = {},
): Promise<RunningScheduler> {
  const chainContext = options.chainContext !== undefined ? options.chainContext : createChainContext(env);
  const rates = await settlementRates(env, chainContext, logger);
  const db = createDb(env.DATABASE_URL, { max: Math.max(5, env.DEPLOY_CONCURRENCY + 4) });
  const connection = redisConnection(env.REDIS_URL);
  const base = { connection, prefix: env.QUEUE_PREFIX };
  const queueOptions = { ...base, defaultJobOptions: DEFAULT_JOB_OPTIONS };
  const chainQueueOptions = { ...base, defaultJobOptions: chainJobOptions({ attempts: env.CHAIN_RETRY_ATTEMPTS, delayMs: env.CHAIN_RETRY_DELAY_MS }) };
  const health = new Queue(QUEUES.health, queueOptions);
  const deploy = new Queue(QUEUES.deploy, queueOptions);
  const settle = new Queue(QUEUES.settle, chainQueueOptions);
  const verify = new Queue(QUEUES.verify, queueOptions);
  // Pub/sub needs its own connection; publishing is best effort (the ClusterEvent row is the record).
  const publisher = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });
  publisher.on("error", (error) => logger.debug({ err: error }, "event publisher connection error"));
  const publish = async (event: ClusterTransitionEvent) => publisher.publish(clusterEventChannel(event.clusterId), JSON.stringify(event));

  const agents: AgentChannel =
    options.agents ??
    (env.AGENT_CHANNEL === "gateway"
      ? new GatewayAgentChannel(env.REDIS_URL, { prefix: env.AGENT_GATEWAY_PREFIX, onError: (error) => logger.warn({ err: error }, "agent gateway channel error") })
      : env.AGENT_CHANNEL === "simulated"
        ? new SimulatedAgentChannel()
        : new NullAgentChannel());
  const chain = options.chain ?? (chainContext ? new GatewayChainSettlement(db, chainContext, logger) : new RecordingChainSettlement(db));
  // The queue always exists (dashboard, stop); its worker and ticks only run with a chain.
  const index = new Queue(QUEUES.index, queueOptions);
  // Like index: the rewards worker and sweep only run with a chain (epochs are timed and posted on it).
  const rewards = new Queue(QUEUES.rewards, chainQueueOptions);
  // The explorer's snapshots: one rollup per tick; a failed tick is simply taken again at the next one.
  const explorer = new Queue(QUEUES.explorer, queueOptions);
  // Requests the web waits on and the scheduler answers (the stake order); its worker runs only with a chain.
  const requests = new Queue(QUEUES.requests, { ...base, defaultJobOptions: REQUEST_JOB_OPTIONS });
  // Agent answers become durable jobs at once, so they survive a restart and are processed like any step.
  agents.onResponse((response) => enqueueJob(deploy, jobs.agentResponse(response)));

  // Tests pass a clock; every job module takes it the same optional way.
  const clock = options.now ? { now: options.now } : {};
  // Loads in the background (seconds at a million devices): deploy rounds read candidates until it is ready.
  const placement = env.PLACEMENT === "live" ? new LivePlacement({ url: env.DATABASE_URL, minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS, logger }).follow() : null;
  const metrics = createSchedulerMetrics({ db, queues: [health, deploy as Queue, settle, verify, index, rewards, explorer, requests], ...(placement ? { placement } : {}) });
  const deployDeps: DeployDeps = {
    db,
    ...(placement ? { placement } : {}),
    inflight: new Set<string>(),
    metrics: metrics.deploy,
    ...(env.WORKLOAD_SECRETS_KEY ? { workloadSecretsKey: env.WORKLOAD_SECRETS_KEY } : {}),
    agents,
    publish,
    logger,
    ...clock,
    config: {
      ackTimeoutMs: env.DEPLOY_ACK_TIMEOUT_S * 1000,
      maxReplacements: env.DEPLOY_MAX_REPLACEMENTS,
      maxReserveAttempts: env.DEPLOY_MAX_RESERVE_ATTEMPTS,
      minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS,
    },
    schedule: {
      async ackDeadline(clusterId, allocationId, at) {
        await enqueueJob(deploy, jobs.ackDeadline(clusterId, allocationId, at)); // fires just after the deadline
      },
      async running(clusterId, endsAt) {
        await enqueueJob(settle, jobs.expiry(clusterId, endsAt));
      },
      async endEarly(clusterId, reason) {
        await enqueueJob(settle, jobs.endEarly(clusterId, reason));
      },
      async leaseChanged(clusterId) {
        await enqueueJob(settle, jobs.leaseSync(clusterId, new Date()));
      },
    },
  };
  const settleDeps: SettleDeps = {
    db,
    agents,
    chain,
    publish,
    logger,
    ...clock,
    config: rates,
  };
  const now = options.now ?? (() => new Date());
  const verifyDeps: VerifyDeps = {
    db,
    agents,
    logger,
    ...clock,
    config: {
      everyMs: env.VERIFY_EVERY_S * 1000,
      deadlineMs: env.VERIFY_DEADLINE_S * 1000,
      matrixSize: env.VERIFY_MATRIX_SIZE,
      sampledRows: env.VERIFY_SAMPLED_ROWS,
      batch: env.VERIFY_BATCH,
      requireOnChainSupplier: chainContext !== null,
    },
    schedule: {
      async deliver(challengeIds) {
        await enqueueManyOnce(verify, challengeIds.map((challengeId) => jobs.verifyDeliver(challengeId)));
      },
      async expire(challenges) {
        await enqueueManyOnce(verify, challenges.map((c) => jobs.verifyExpire(c.id, c.deadlineAt)));
      },
      // Slashing needs the chain (the settlement authority burns from the stake's vault).
      ...(chainContext ? { slash: async (challengeId: string) => void (await enqueueJob(settle, jobs.slash(challengeId))) } : {}),
    },
  };
  // Challenge answers, like deploy acks, become durable jobs on arrival (stamped with that time).
  agents.onVerificationAnswer?.((answer) => {
    const job = answerJob(answer, now());
    return job ? enqueueJob(verify, job) : undefined;
  });

  if (options.sweeps !== false) {
    await health.upsertJobScheduler(jobIds.healthSweep, { every: env.HEALTH_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
    await deploy.upsertJobScheduler(jobIds.deploySweep, { every: env.DEPLOY_SWEEP_EVERY_S * 1000 }, { name: "sweep", data: { clusterId: "" } });
    await settle.upsertJobScheduler(jobIds.settleSweep, { every: env.SETTLE_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
    await verify.upsertJobScheduler(jobIds.verifySweep, { every: env.VERIFY_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
    // One job per tick, and the next tick retries anyway: no attempts/backoff, and little history kept.
    if (chainContext) await index.upsertJobScheduler(jobIds.indexTick, { every: env.INDEX_EVERY_S * 1000 }, { name: "pass", opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 1_000 } } });
    // A scheduler restarted without a chain must not leave ticks behind that no worker takes.
    else await index.removeJobScheduler(jobIds.indexTick);
    if (chainContext) await rewards.upsertJobScheduler(jobIds.rewardsSweep, { every: env.REWARDS_SWEEP_EVERY_S * 1000 }, { name: "sweep" });
    else await rewards.removeJobScheduler(jobIds.rewardsSweep);
    await explorer.upsertJobScheduler(jobIds.explorerTick, { every: env.EXPLORER_EVERY_S * 1000 }, { name: "rollup", opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 1_000 } } });
  }

  // Chain-touching jobs back off exponentially up to CHAIN_RETRY_MAX_DELAY_S (chainJobOptions).
  const workerOptions = { ...base, ...options.workerOptions, settings: { backoffStrategy: cappedExponentialBackoff(env.CHAIN_RETRY_MAX_DELAY_S * 1000) } };
  const healthWorker = new Worker(
    QUEUES.health,
    async (job) => {
      parseJob(QUEUES.health, job.name, job.data);
      const offline = await sweepStaleDevices(db, env.DEVICE_OFFLINE_AFTER_S);
      if (offline.length) logger.info({ count: offline.length }, "devices missed their heartbeat deadline: marked offline");
      // Follow-up: every cluster that held one of them loses that node (replacement or pro-rata end).
      // Looked up from all OFFLINE devices, not just this sweep's, so a crash between the two steps
      // is repaired by the next sweep.
      const lost = await lostAllocations(db);
      await enqueueManyOnce(
        deploy,
        lost.map((a) => jobs.nodeLost(a.clusterId, a.id, a.deviceStatus === "OFFLINE" ? `device ${a.deviceId} missed its heartbeat deadline` : `device ${a.deviceId} is ${a.deviceStatus.toLowerCase()}`)),
      );
      // Devices that vanished mid-lease: once an outage's grace period has run out it is decided, once,
      // and a slash enqueued if the device is still gone (or came back too late). Enqueued before the
      // outages are marked decided, so a crash in between re-reads them (same job ids). Without a chain
      // there is no stake to burn: decided, not slashed (never slashed later for an old outage).
      const at = now();
      const due = await vanishDue(db, env.VANISH_GRACE_S, at, { correlationS: env.VANISH_CORRELATION_S });
      const { slash: vanished, spared } = slashableOutages(due, { graceS: env.VANISH_GRACE_S, massOutage: env.VANISH_MASS_OUTAGE }, at);
      if (spared.length) logger.warn({ outages: spared.map((o) => ({ outage: o.id.toString(), device: o.deviceId, silentAround: o.silentAround })) }, "mid-lease outages during a mass outage: not slashed");
      if (chainContext) await enqueueManyOnce(settle, vanished.map((outage) => jobs.slashVanished(outage.id.toString())));
      await decideVanish(db, due.map((outage) => outage.id), at);
      if (vanished.length) {
        const outages = vanished.map((o) => ({ outage: o.id.toString(), device: o.deviceId, allocation: o.allocationId, since: o.startedAt.toISOString() }));
        logger.warn({ outages }, chainContext ? "devices vanished mid-lease beyond the grace period: slashing" : "devices vanished mid-lease beyond the grace period (no chain: not slashed)");
      }
      return { offline: offline.length, ...(lost.length ? { lostNodes: lost.length } : {}), ...(vanished.length ? { vanished: vanished.length } : {}) };
    },
    { ...workerOptions, concurrency: 1 },
  );

  const deployWorker = new Worker(
    QUEUES.deploy,
    async (raw) => {
      const job = parseJob(QUEUES.deploy, raw.name, raw.data);
      switch (job.name) {
        case "deploy":
        case "ack-deadline":
        case "nudge":
          return advanceDeploy(deployDeps, job.data.clusterId);
        case "agent-response":
          return handleAgentResponse(deployDeps, job.data);
        case "node-lost":
          return handleNodeLost(deployDeps, job.data.clusterId, job.data.allocationId, job.data.reason);
        case "sweep": {
          // Recovery: deployments (and degraded clusters) nobody has touched for a sweep interval (a lost job, a crash between
          // steps, a paid cluster whose deploy job was never enqueued) get a nudge.
          const every = env.DEPLOY_SWEEP_EVERY_S * 1000;
          const stuck = await stuckDeployments(db, new Date(now().getTime() - every));
          const slot = Math.floor(now().getTime() / every);
          await enqueueManyOnce(deploy, stuck.map((id) => jobs.deployNudge(id, slot)));
          return { nudged: stuck.length };
        }
      }
    },
    { ...workerOptions, concurrency: env.DEPLOY_CONCURRENCY },
  );

  const settleWorker = new Worker(
    QUEUES.settle,
    async (raw) => {
      const job = parseJob(QUEUES.settle, raw.name, raw.data);
      switch (job.name) {
        case "sweep": {
          const at = now();
          const work = await findSettlementWork(db, at);
          // The rest of the lifecycle: ends interrupted between ENDING and ENDED, leases still open
          // on-chain, quotes never paid.
          const unfinished = await findUnfinishedClusters(db, at, { graceMs: env.SETTLE_SWEEP_EVERY_S * 1000, quoteTtlMs: env.QUOTE_TTL_S * 1000 });
          let expired = 0;
          for (const cluster of unfinished.expiredQuotes) if (await expireQuote({ db, publish }, cluster, at)) expired++;
          const enqueued = await enqueueManyOnce(settle, [
            ...work.periods.map((p) => jobs.settlePeriod(p.clusterId, p.periodStart)),
            // Past their paid end: the expiry of that end (the job scheduled at the start, if it was lost).
            ...work.ends.map((e) => jobs.expiry(e.clusterId, e.endsAt)),
            // Asked to end, not ending yet: the renter's end job (same id as the web's: one job).
            ...work.requested.map((r) => jobs.requestEnd(r.clusterId, r.requestedAt)),
            // Postgres says these are unfinished: a completed job under their id stopped short, run it again.
            ...unfinished.ending.map((c) => ({ ...jobs.resumeEnd(c.clusterId, c.reason), rerunCompleted: true })),
            ...unfinished.unclosedEnded.map((clusterId) => ({ ...jobs.resumeEnd(clusterId, "lease ended: closing it on-chain"), rerunCompleted: true })),
            ...unfinished.unclosedCancelled.map((clusterId) => ({ ...jobs.cancel(clusterId), rerunCompleted: true })),
            // Leases closed on-chain and not reconciled yet: chain = ledger, per supplier, fee, burn, refund.
            ...(chainContext ? await leasesToReconcile(db) : []).map((clusterId) => jobs.reconcile(clusterId)),
          ]);
          return {
            periods: work.periods.length,
            ends: work.ends.length,
            requestedEnds: work.requested.length,
            resumedEnds: unfinished.ending.length,
            unclosed: unfinished.unclosedEnded.length + unfinished.unclosedCancelled.length,
            expiredQuotes: expired,
            ...enqueued,
          };
        }
        case "period": {
          const data = job.data;
          const settled = await settlePeriod(settleDeps, data.clusterId, new Date(data.periodStart));
          return settled ? { created: settled.created, gross: settled.split.gross.toString() } : null;
        }
        case "end": {
          const data = job.data;
          if (data.requestedAt !== undefined) {
            // The renter's terminate (enqueueEnd): cancels before RUNNING, ends at the request's instant after.
            const outcome = await terminateCluster(settleDeps, data.clusterId, data.reason, new Date(data.requestedAt));
            if (outcome.state === "cancelled") await enqueueJob(settle, jobs.cancel(data.clusterId));
            return "refund" in outcome ? { state: outcome.state, refund: outcome.refund?.toString() ?? null } : outcome;
          }
          const ended = await endCluster(settleDeps, data.clusterId, data.reason);
          return ended ? { refund: ended.refund.toString() } : null;
        }
        case "expiry": {
          // The paid end. An extension moved it later: the new end's expiry takes over (the extension's
          // producer enqueued it already; enqueued again here in case that enqueue was lost).
          const outcome = await expireLease(settleDeps, job.data.clusterId, new Date(job.data.endsAt));
          if (outcome.state === "moved") {
            await enqueueJob(settle, jobs.expiry(job.data.clusterId, outcome.endsAt));
            return { state: outcome.state, endsAt: outcome.endsAt.toISOString() };
          }
          return { state: outcome.state, refund: outcome.refund?.toString() ?? null };
        }
        case "reconcile": {
          const data = job.data;
          if (!chainContext) return null;
          const verdict = await reconcileLease({ db, chain: chainContext, logger }, data.clusterId);
          return verdict ? { ok: verdict.ok, mismatches: verdict.mismatches.length } : null;
        }
        // A cancel (a cluster that never ran) is a lease sync too: it sends cancel_lease; its own job id
        // (`cancel/<cluster>`) is what the terminate path and the sweep dedupe on.
        case "cancel":
        case "lease-sync": {
          const outcome = await chain.syncLease(job.data.clusterId);
          return { sent: outcome.signatures.length, finished: outcome.finished, ...(outcome.problem ? { problem: outcome.problem } : {}) };
        }
        case "slash":
          if (!chainContext) return null;
          return slashForChallenge({ db, chain: chainContext, logger, slashBps: env.SLASH_BPS }, job.data.challengeId);
        case "slash-vanished":
          if (!chainContext) return null;
          return slashForOutage({ db, chain: chainContext, logger, slashBps: env.VANISH_SLASH_BPS, graceS: env.VANISH_GRACE_S, now }, job.data.outageId);
      }
    },
    { ...workerOptions, concurrency: 4 },
  );

  const verifyWorker = new Worker(QUEUES.verify, async (job) => processVerifyJob(verifyDeps, parseJob(QUEUES.verify, job.name, job.data)), { ...workerOptions, concurrency: 4 });

  const indexPass = chainContext ? chainIndexPass(db, chainContext, logger) : null;
  const indexWorker = indexPass
    ? new Worker(
        QUEUES.index,
        async (job) => {
          parseJob(QUEUES.index, job.name, job.data);
          const pass = await indexPass();
          metrics.indexer.missed(pass.missed);
          return pass;
        },
        { ...workerOptions, concurrency: 1 },
      )
    : null;

  const rewardsDeps: RewardsDeps | null = chainContext
    ? { db, chain: chainContext, logger, minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS, ...clock }
    : null;
  // Concurrency 1: epochs build on each other (cumulative amounts), so they run one at a time, in
  // order; across processes the epoch transaction's advisory lock keeps that true.
  const rewardsWorker = rewardsDeps
    ? new Worker(
        QUEUES.rewards,
        async (raw) => {
          const job = parseJob(QUEUES.rewards, raw.name, raw.data);
          const enqueueNextDue = async () => {
            const epoch = await nextDueEpoch(rewardsDeps);
            if (epoch !== null) await enqueueJob(rewards, jobs.rewardsEpoch(epoch));
            return epoch;
          };
          switch (job.name) {
            case "sweep":
              return { enqueued: await enqueueNextDue() };
            case "epoch": {
              const run = await runRewardEpoch(rewardsDeps, job.data.epoch);
              // Catching up after downtime: the next hour goes straight on.
              if (run.status !== "not-due") await enqueueNextDue();
              return run;
            }
          }
        },
        { ...workerOptions, concurrency: 1 },
      )
    : null;

  // Requests the web waits on (the stake order, which needs the settlement authority's key): answered
  // only with a chain; without one the web's request times out and it says the chain is unavailable.
  const requestsWorker = chainContext
    ? new Worker(
        QUEUES.requests,
        async (raw) => {
          const job = parseJob(QUEUES.requests, raw.name, raw.data);
          switch (job.name) {
            case "stake-order":
              return stakeOrder({ db, chain: chainContext }, job.data);
          }
        },
        { ...workerOptions, concurrency: 4 },
      )
    : null;

  const explorerWorker = new Worker(
    QUEUES.explorer,
    async (job) => {
      parseJob(QUEUES.explorer, job.name, job.data);
      const run = await runExplorerRollup(db, { minVerificationScoreBps: env.MIN_VERIFICATION_SCORE_BPS, now: now() });
      return { bucketAt: run.bucketAt.toISOString(), devices: run.devices, capacityRows: run.capacityRows };
    },
    { ...workerOptions, concurrency: 1 },
  );

  const workers = [healthWorker, deployWorker, settleWorker, verifyWorker, explorerWorker, ...(indexWorker ? [indexWorker] : []), ...(rewardsWorker ? [rewardsWorker] : []), ...(requestsWorker ? [requestsWorker] : [])];
  for (const worker of workers) {
    // Failed jobs stay in Redis (removeOnFail keeps them for 30 days) for inspection in the dashboard.
    worker.on("failed", (job, error) => logger.error({ queue: worker.name, job: job?.id, attempts: job?.attemptsMade, err: error }, "job failed"));
    worker.on("error", (error) => logger.warn({ queue: worker.name, err: error }, "worker error"));
    metrics.observe(worker as Worker);
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  let admin: AdminServer | undefined;
  if (env.ADMIN_PORT > 0 || options.adminPort !== undefined) {
    try {
      admin = await startAdminServer({
        port: options.adminPort ?? env.ADMIN_PORT, host: env.ADMIN_HOST, token: env.ADMIN_TOKEN, queues: [health, deploy as Queue, settle, verify, index, rewards, explorer, requests], logger,
        reconciliation: (onlyMismatches) => listReconciliations(db, onlyMismatches),
        metrics: () => metrics.scrape(),
      });
    } catch (error) {
      // Do not leave workers running behind a scheduler that failed to start.
      await Promise.allSettled(workers.map((worker) => worker.close()));
      await Promise.allSettled([health.close(), deploy.close(), settle.close(), verify.close(), index.close(), rewards.close(), explorer.close(), requests.close(), agents.close(), db.$disconnect(), placement?.close()]);
      publisher.disconnect();
      throw error;
    }
  }
  logger.info({ queues: Object.values(QUEUES) }, "scheduler started");

  return {
    db,
    queues: { health, deploy: deploy as Queue, settle, verify, index, rewards, explorer, requests },
    agents,
    chain,
    chainContext,
    adminUrl: admin?.url,
    placement,
    metrics,
    async enqueueDeploy(clusterId) {
      await enqueueJob(deploy, jobs.deploy(clusterId));
    },
    async enqueueEnd(clusterId, reason) {
      // The end instant is this request's: fixed now if the lease runs (a retried or late job never
      // bills past it), else by the job from the same instant once the lease has started.
      const requestedAt = now();
      await recordEndRequest(db, clusterId, requestedAt);
      await enqueueJob(settle, jobs.requestEnd(clusterId, requestedAt, reason));
    },
    async stop(stopOptions = {}) {
      // force: do not wait for active jobs (simulates a killed process; their locks expire and another
      // worker picks them up as stalled).
      await admin?.close();
      const drained = !stopOptions.force;
      const closing = Promise.all(workers.map((worker) => worker.close(stopOptions.force ?? false)));
      if (!stopOptions.force && stopOptions.graceMs !== undefined) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), stopOptions.graceMs)));
        if ((await Promise.race([closing.then(() => "closed" as const), expired])) === "expired") {
          // A worker already closing cannot be forced (BullMQ returns the pending close), and the pool
          // would wait for the connections those jobs hold: the caller exits the process instead, the
          // locks stop being renewed, and another worker retries the jobs as stalled.
          const active = await Promise.all([health, deploy as Queue, settle, verify, index, rewards, explorer, requests].map(async (q) => [q.name, await q.getActiveCount().catch(() => -1)] as const));
          logger.warn({ graceMs: stopOptions.graceMs, active: Object.fromEntries(active.filter(([, n]) => n !== 0)) }, "shutdown grace expired: letting go of the active jobs (their locks expire and they are retried)");
          return { drained: false };
        }
        clearTimeout(timer);
      } else await closing;
      await agents.close();
      await Promise.all([health.close(), deploy.close(), settle.close(), verify.close(), index.close(), rewards.close(), explorer.close()]);
      await placement?.close();
      publisher.disconnect();
      await db.$disconnect();
      logger.info({ drained }, "scheduler stopped");
      return { drained };
    },
  };
}
