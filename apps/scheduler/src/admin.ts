import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { MIN_ADMIN_TOKEN_LENGTH } from "./env.ts";

/**
 * The queue dashboard: a small authenticated JSON API over the BullMQ queues (counts per state, jobs
 * of a state with their failure reasons and stack traces, retry of a failed job). It stands in for
 * Bull Board, whose packages are not installed yet; the auth and the refusal to run without a strong
 * token are the same either way.
 *
 *   GET  /queues                              → [{ name, counts }]
 *   GET  /queues/:name/jobs?state=failed&n=50 → jobs (id, name, data, attempts, failedReason, stack, times)
 *   POST /queues/:name/jobs/:id/retry         → retries a failed job
 */
export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

const STATES = ["waiting", "active", "delayed", "completed", "failed", "prioritized", "waiting-children"] as const;
type State = (typeof STATES)[number];

const digest = (value: string) => createHash("sha256").update(value).digest();

export async function startAdminServer(options: { port: number; host: string; token: string | undefined; queues: Queue[]; logger: Logger }): Promise<AdminServer> {
  if (!options.token || options.token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(`refusing to serve the queue dashboard without ADMIN_TOKEN of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  // Compare digests in constant time: neither the token's length nor its prefix leaks through timing.
  const expected = digest(`Bearer ${options.token}`);
  const byName = new Map(options.queues.map((q) => [q.name, q]));

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const authorization = req.headers.authorization ?? "";
      if (!timingSafeEqual(digest(authorization), expected)) {
        res.setHeader("www-authenticate", 'Bearer realm="gpumesh-scheduler"');
        return send(res, 401, { error: "unauthorized" });
      }
      const url = new URL(req.url ?? "/", "http://admin");
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (req.method === "GET" && parts.length === 1 && parts[0] === "queues") {
        return send(res, 200, await Promise.all(options.queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...STATES) }))));
      }
      const queue = parts[0] === "queues" && parts[1] ? byName.get(parts[1]) : undefined;
      if (!queue) return send(res, 404, { error: "not found" });
      if (req.method === "GET" && parts.length === 3 && parts[2] === "jobs") {
        const state = (url.searchParams.get("state") ?? "failed") as State;
        if (!STATES.includes(state)) return send(res, 400, { error: `state must be one of ${STATES.join(", ")}` });
        const n = Math.min(500, Math.max(1, Number(url.searchParams.get("n") ?? 50) || 50));
        const jobs = await queue.getJobs([state], 0, n - 1);
        return send(
          res,
          200,
          jobs.map((job) => ({
            id: job.id, name: job.name, data: job.data, attemptsMade: job.attemptsMade, failedReason: job.failedReason,
            stacktrace: job.stacktrace, timestamp: job.timestamp, processedOn: job.processedOn, finishedOn: job.finishedOn,
          })),
        );
      }
      if (req.method === "POST" && parts.length === 5 && parts[2] === "jobs" && parts[4] === "retry") {
        const job = await queue.getJob(parts[3]!);
        if (!job) return send(res, 404, { error: "no such job" });
        if ((await job.getState()) !== "failed") return send(res, 409, { error: "only failed jobs can be retried" });
        await job.retry("failed");
        options.logger.info({ queue: queue.name, job: job.id }, "failed job retried from the dashboard");
        return send(res, 200, { retried: job.id });
      }
      return send(res, 404, { error: "not found" });
    })().catch((error: unknown) => {
      options.logger.error({ err: error }, "admin request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  options.logger.info({ port: address.port, host: options.host }, "queue dashboard listening");
  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
