import { createDb, type Db } from "@gpumesh/db";
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { pino, type Logger } from "pino";
import type { SchedulerEnv } from "./env.ts";
import { sweepStaleDevices } from "./jobs/health.ts";
import { jobIds, QUEUES } from "./queues.ts";

export interface RunningScheduler {
  db: Db;
  queues: { health: Queue };
  stop(): Promise<void>;
}

function redisConnection(url: string): ConnectionOptions {
  // BullMQ workers block on Redis; maxRetriesPerRequest must be null for them.
  return { url, maxRetriesPerRequest: null } as ConnectionOptions;
}

/** Starts the queues, their workers and the repeating jobs. */
export async function startScheduler(env: SchedulerEnv, logger: Logger = pino({ level: env.LOG_LEVEL, name: "scheduler" })): Promise<RunningScheduler> {
  const db = createDb(env.DATABASE_URL, { max: 5 });
  const connection = redisConnection(env.REDIS_URL);
  const options = { connection, prefix: env.QUEUE_PREFIX };
  const health = new Queue(QUEUES.health, {
    ...options,
    defaultJobOptions: { attempts: 5, backoff: { type: "exponential", delay: 1_000 }, removeOnComplete: 1_000, removeOnFail: 10_000 },
  });
  await health.upsertJobScheduler(jobIds.healthSweep, { every: env.HEALTH_SWEEP_EVERY_S * 1000 }, { name: "sweep" });

  const healthWorker = new Worker(
    QUEUES.health,
    async (job) => {
      if (job.name !== "sweep") throw new Error(`unknown health job ${job.name}`);
      const offline = await sweepStaleDevices(db, env.DEVICE_OFFLINE_AFTER_S);
      if (offline.length) logger.info({ count: offline.length }, "devices missed their heartbeat deadline: marked offline");
      return { offline: offline.length };
    },
    { ...options, concurrency: 1 },
  );
  healthWorker.on("failed", (job, error) => logger.error({ job: job?.id, err: error }, "health job failed"));
  await healthWorker.waitUntilReady();
  logger.info({ queues: Object.values(QUEUES) }, "scheduler started");

  return {
    db,
    queues: { health },
    async stop() {
      await healthWorker.close();
      await health.close();
      await db.$disconnect();
      logger.info("scheduler stopped");
    },
  };
}
