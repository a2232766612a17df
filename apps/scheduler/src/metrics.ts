import type { Db, LivePlacement } from "@gpumesh/db";
import type { Job, Queue, Worker } from "bullmq";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of one scheduler process (prom-client), served at GET /metrics on the admin
 * server behind ADMIN_TOKEN (README, "Metrics"). Names and labels:
 *
 *   gpumesh_queue_jobs{queue,state}                  jobs per queue and state (waiting, active, delayed, prioritized, failed, waiting-children), at scrape time
 *   gpumesh_queue_oldest_waiting_seconds{queue}      age of the oldest job waiting for a worker (0 when none), at scrape time
 *   gpumesh_job_duration_seconds{queue,name,outcome} processing time of each finished attempt (outcome: completed|failed), from worker events
 *   gpumesh_job_wait_seconds{queue,name}             time from due (added, or its delay over) to picked up, first attempts
 *   gpumesh_job_failures_total{queue,name,final}     failed attempts; final="true" when no retry is left
 *   gpumesh_job_stalled_total{queue}                 jobs whose lock expired (a worker died or blocked) and were taken back
 *   gpumesh_gang_reservations_total{kind}            gangs reserved by deploy jobs (kind: new|replacement); rate() = reservations per second
 *   gpumesh_reserved_devices_total                   devices in those gangs
 *   gpumesh_reservation_races_lost_total             reservation attempts lost to another reservation (re-matched)
 *   gpumesh_devices{status}                          devices by status, from Postgres at scrape time
 *   gpumesh_online_oldest_heartbeat_seconds          age of the stalest heartbeat among ONLINE devices (0 when none): nearing
 *                                                    DEVICE_OFFLINE_AFTER_S means the health sweep or heartbeat ingest lags
 *   gpumesh_reconciliation_mismatches                closed leases whose chain payouts and ledger disagree (lease_reconciliation.ok = false)
 *   gpumesh_chain_transactions_missed_total          program transactions the RPC listed but no longer had (pruned): skipped by the indexer
 *   + prom-client's process metrics (CPU, memory, event loop lag, …) under gpumesh_scheduler_
 *
 * Queue and job counters are per process (sum them across schedulers); the queue and Postgres
 * gauges are global (every scheduler reports the same: use max, not sum). The Postgres reads are two
 * cheap aggregates (`device` by status over its status index, `lease_reconciliation` where not ok over
 * its (ok, checked_at) index), cached for `dbCacheMs` so that several scrapers do not multiply them.
 */
export interface SchedulerMetrics {
  registry: Registry;
  /** Observes a worker's completed, failed and stalled events. */
  observe(worker: Worker): void;
  deploy: { gangReserved(devices: number, replacement: boolean): void; reservationRaceLost(): void };
  indexer: { missed(transactions: number): void };
  /** The exposition: body and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "failed", "waiting-children"] as const;
const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** When a job became due: added, plus its delay. */
const dueAt = (job: Pick<Job, "timestamp" | "delay">) => job.timestamp + (job.delay ?? 0);

export function createSchedulerMetrics(options: {
  db: Db;
  queues: Queue[];
  dbCacheMs?: number;
  now?: () => number;
  /** The process's live placement index, when it has one. */
  placement?: Pick<LivePlacement, "ready" | "deviceCount" | "refreshed">;
}): SchedulerMetrics {
  const registry = new Registry();
  const now = options.now ?? Date.now;
  collectDefaultMetrics({ register: registry, prefix: "gpumesh_scheduler_" });

  new Gauge({
    name: "gpumesh_queue_jobs",
    help: "Jobs per queue and state (waiting: due and not picked up yet).",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        options.queues.map(async (queue) => {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  new Gauge({
    name: "gpumesh_queue_oldest_waiting_seconds",
    help: "Age of the oldest job waiting for a worker, from when it became due (0 when none waits).",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        options.queues.map(async (queue) => {
          // Workers take from the list's tail: ascending order puts the oldest first.
          const [oldest] = await queue.getJobs(["wait"], 0, 0, true);
          this.set({ queue: queue.name }, oldest ? seconds(now() - dueAt(oldest)) : 0);
        }),
      );
    },
  });

  const duration = new Histogram({
    name: "gpumesh_job_duration_seconds",
    help: "Processing time of each finished job attempt.",
    labelNames: ["queue", "name", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const wait = new Histogram({
    name: "gpumesh_job_wait_seconds",
    help: "Time from a job being due to a worker picking it up (first attempts).",
    labelNames: ["queue", "name"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const failures = new Counter({ name: "gpumesh_job_failures_total", help: "Failed job attempts; final when no retry is left.", labelNames: ["queue", "name", "final"], registers: [registry] });
  const stalled = new Counter({ name: "gpumesh_job_stalled_total", help: "Jobs whose lock expired and were taken back.", labelNames: ["queue"], registers: [registry] });
  const gangs = new Counter({ name: "gpumesh_gang_reservations_total", help: "Gangs reserved by deploy jobs (rate() = reservations per second).", labelNames: ["kind"], registers: [registry] });
  const devices = new Counter({ name: "gpumesh_reserved_devices_total", help: "Devices in the gangs reserved by deploy jobs.", registers: [registry] });
  const racesLost = new Counter({ name: "gpumesh_reservation_races_lost_total", help: "Reservation attempts lost to another reservation (the job re-matches).", registers: [registry] });
  const missedTransactions = new Counter({
    name: "gpumesh_chain_transactions_missed_total",
    help: "Program transactions the RPC listed but had no body for (pruned): skipped by the chain indexer.",
    registers: [registry],
  });
  // Both series exist from the start, so rate() works before the first reservation.
  gangs.inc({ kind: "new" }, 0);
  gangs.inc({ kind: "replacement" }, 0);

  let cached: { at: number; byStatus: { status: string; n: number }[]; mismatches: number; oldestHeartbeatS: number } | undefined;
  const fromPostgres = async () => {
    if (cached && now() - cached.at < (options.dbCacheMs ?? 5_000)) return cached;
    const [byStatus, [mismatch], [heartbeat]] = await Promise.all([
      options.db.$queryRaw<{ status: string; n: number }[]>`select status::text as status, count(*)::int as n from device group by status`,
      options.db.$queryRaw<{ n: number }[]>`select count(*)::int as n from lease_reconciliation where ok = false`,
      // One probe of the (status, last_heartbeat_at) index, not a scan.
      options.db.$queryRaw<{ oldest: Date | null }[]>`select min(last_heartbeat_at) as oldest from device where status = 'ONLINE'`,
    ]);
    cached = { at: now(), byStatus, mismatches: mismatch?.n ?? 0, oldestHeartbeatS: heartbeat?.oldest ? seconds(now() - heartbeat.oldest.getTime()) : 0 };
    return cached;
  };
  const STATUSES = ["REGISTERED", "ONLINE", "OFFLINE", "SUSPENDED"];
  new Gauge({
    name: "gpumesh_devices",
    help: "Devices by status.",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const { byStatus } = await fromPostgres();
      this.reset();
      for (const status of new Set([...STATUSES, ...byStatus.map((r) => r.status)])) this.set({ status }, byStatus.find((r) => r.status === status)?.n ?? 0);
    },
  });
  new Gauge({
    name: "gpumesh_reconciliation_mismatches",
    help: "Closed leases whose on-chain payouts and ledger disagree (lease_reconciliation.ok = false).",
    registers: [registry],
    async collect() {
      this.set((await fromPostgres()).mismatches);
    },
  });

  new Gauge({
    name: "gpumesh_online_oldest_heartbeat_seconds",
    help: "Age of the stalest heartbeat among ONLINE devices (0 when none is online).",
    registers: [registry],
    async collect() {
      this.set((await fromPostgres()).oldestHeartbeatS);
    },
  });

  const placement = options.placement;
  if (placement) {
    new Gauge({
      name: "gpumesh_placement_index_devices",
      help: "Devices in this process's live placement index (0 while it loads or its feed is down: deploy rounds then read candidates).",
      registers: [registry],
      collect() {
        this.set(placement.ready ? placement.deviceCount : 0);
      },
    });
    let counted = 0;
    new Counter({
      name: "gpumesh_placement_index_refreshed_devices_total",
      help: "Devices re-read because the placement feed named them (rate() = feed traffic).",
      registers: [registry],
      collect() {
        this.inc(placement.refreshed - counted);
        counted = placement.refreshed;
      },
    });
  }

  return {
    registry,
    observe(worker) {
      const queue = worker.name;
      const attempt = (job: Job, outcome: "completed" | "failed") => {
        const started = job.processedOn ?? now();
        duration.observe({ queue, name: job.name, outcome }, seconds((job.finishedOn ?? now()) - started));
        // First attempts only: a retry's wait would include the earlier attempts and the backoff.
        if ((job.attemptsStarted ?? 1) <= 1) wait.observe({ queue, name: job.name }, seconds(started - dueAt(job)));
      };
      worker.on("completed", (job) => attempt(job, "completed"));
      worker.on("failed", (job) => {
        if (!job) return;
        attempt(job, "failed");
        const final = job.attemptsMade >= (job.opts.attempts ?? 1);
        failures.inc({ queue, name: job.name, final: String(final) });
      });
      worker.on("stalled", () => stalled.inc({ queue }));
    },
    deploy: {
      gangReserved(count, replacement) {
        gangs.inc({ kind: replacement ? "replacement" : "new" });
        devices.inc(count);
      },
      reservationRaceLost() {
        racesLost.inc();
      },
    },
    indexer: {
      missed(transactions) {
        missedTransactions.inc(transactions);
      },
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
