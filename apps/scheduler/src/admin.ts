import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import type { Logger } from "pino";
import { MIN_ADMIN_TOKEN_LENGTH } from "./env.ts";

/**
 * The queue dashboard: Bull Board (https://github.com/felixmosh/bull-board) over every queue passed
 * in, plus a small JSON API for scripts, all behind one token (ADMIN_TOKEN, at least
 * MIN_ADMIN_TOKEN_LENGTH characters; the server refuses to start without one, because the board can
 * retry, clean and add jobs).
 *
 * Auth, on every path including the UI's static files: HTTP Basic with any user name and the token
 * as password (browsers prompt for it on the 401 challenge), or `Authorization: Bearer <token>`.
 * State-changing requests a browser marks as cross-site are refused, since browsers replay Basic
 * credentials on their own (CSRF).
 *
 *   GET  /                                    → Bull Board UI (its routes: /queue/:name, /static/*, /api/*)
 *   GET  /queues                              → [{ name, counts }]
 *   GET  /queues/:name/jobs?state=failed&n=50 → jobs (id, name, data, attempts, failedReason, stack, times)
 *   POST /queues/:name/jobs/:id/retry         → retries a failed job
 *   GET  /reconciliation?mismatches=1         → closed leases whose chain payouts and ledger disagree
 *   GET  /metrics                             → Prometheus text exposition (metrics.ts; scrape with the Bearer token)
 *
 * Bind it to loopback (ADMIN_HOST's default) and put a TLS proxy in front to expose it: Basic auth
 * sends the token in clear text.
 */
export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

const STATES = ["waiting", "active", "delayed", "completed", "failed", "prioritized", "waiting-children"] as const;
type State = (typeof STATES)[number];

export const ADMIN_REALM = "GPUMesh queues";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** The secret a request presents: the Bearer token, or the password of Basic credentials. */
function presentedSecret(authorization: string | undefined): string {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? "");
  if (!match) return "";
  const scheme = match[1]!.toLowerCase();
  if (scheme === "bearer") return match[2]!;
  if (scheme !== "basic") return "";
  const decoded = Buffer.from(match[2]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? "" : decoded.slice(colon + 1);
}

export async function startAdminServer(options: {
  port: number;
  host: string;
  token: string | undefined;
  queues: Queue[];
  logger: Logger;
  /** The reconciliation verdicts of closed leases (GET /reconciliation[?mismatches=1]). */
  reconciliation?: (onlyMismatches: boolean) => Promise<unknown>;
  /** The Prometheus exposition (GET /metrics). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}): Promise<AdminServer> {
  if (!options.token || options.token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(`refusing to serve the queue dashboard without ADMIN_TOKEN of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  // Compare digests in constant time: neither the token's length nor its prefix leaks through timing.
  const expected = digest(options.token);
  const byName = new Map(options.queues.map((q) => [q.name, q]));

  const app = express();
  app.disable("x-powered-by");
  app.set("json replacer", (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value));

  const securityHeaders: RequestHandler = (req, res, next) => {
    // Job data and failure reasons are sensitive: no shared or disk caches. The UI's static files may
    // be revalidated (ETag) by this browser only; `send` keeps a Cache-Control that is already set.
    res.setHeader("cache-control", req.path.startsWith("/static/") ? "private, no-cache" : "no-store");
    res.setHeader("x-frame-options", "DENY");
    // Bull Board's page runs only its own script files (its config is an inert JSON script tag), so
    // script-src 'self' holds; styles and fonts stay unrestricted because the UI inlines styles.
    res.setHeader("content-security-policy", "default-src 'self'; frame-ancestors 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'");
    res.setHeader("x-content-type-options", "nosniff");
    res.setHeader("referrer-policy", "no-referrer");
    res.setHeader("cross-origin-resource-policy", "same-origin");
    res.setHeader("cross-origin-opener-policy", "same-origin");
    next();
  };

  const requireToken: RequestHandler = (req, res, next) => {
    if (timingSafeEqual(digest(presentedSecret(req.headers.authorization)), expected)) return next();
    res.setHeader("www-authenticate", `Basic realm="${ADMIN_REALM}"`);
    res.status(401).json({ error: "unauthorized" });
  };

  // Browsers attach remembered Basic credentials to requests other sites trigger (a form POST needs no
  // CORS preflight). Sec-Fetch-Site tells those apart; scripts do not send it and are unaffected.
  const refuseCrossSiteWrites: RequestHandler = (req, res, next) => {
    const site = req.headers["sec-fetch-site"];
    if (req.method === "GET" || req.method === "HEAD" || site === undefined || site === "same-origin" || site === "none") return next();
    res.status(403).json({ error: "cross-site request refused" });
  };

  const api = express.Router();
  api.get("/queues", async (_req, res) => {
    res.json(await Promise.all(options.queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...STATES) }))));
  });
  api.get("/reconciliation", async (req, res) => {
    if (!options.reconciliation) return res.status(404).json({ error: "no reconciliation here" });
    res.json(await options.reconciliation(req.query.mismatches === "1" || req.query.mismatches === "true"));
  });
  api.get("/metrics", async (_req, res) => {
    if (!options.metrics) return void res.status(404).json({ error: "no metrics here" });
    const { contentType, body } = await options.metrics();
    res.type(contentType).send(body);
  });
  api.get("/queues/:name/jobs", async (req, res) => {
    const queue = byName.get(req.params.name);
    if (!queue) return void res.status(404).json({ error: "not found" });
    const state = (typeof req.query.state === "string" ? req.query.state : "failed") as State;
    if (!STATES.includes(state)) return void res.status(400).json({ error: `state must be one of ${STATES.join(", ")}` });
    const n = Math.min(500, Math.max(1, Number(req.query.n ?? 50) || 50));
    const jobs = await queue.getJobs([state], 0, n - 1);
    res.json(
      jobs.map((job) => ({
        id: job.id, name: job.name, data: job.data, attemptsMade: job.attemptsMade, failedReason: job.failedReason,
        stacktrace: job.stacktrace, timestamp: job.timestamp, processedOn: job.processedOn, finishedOn: job.finishedOn,
      })),
    );
  });
  api.post("/queues/:name/jobs/:id/retry", async (req, res) => {
    const queue = byName.get(req.params.name);
    if (!queue) return void res.status(404).json({ error: "not found" });
    const job = await queue.getJob(req.params.id);
    if (!job) return void res.status(404).json({ error: "no such job" });
    if ((await job.getState()) !== "failed") return void res.status(409).json({ error: "only failed jobs can be retried" });
    await job.retry("failed");
    options.logger.info({ queue: queue.name, job: job.id }, "failed job retried from the dashboard");
    res.json({ retried: job.id });
  });

  const board = new ExpressAdapter();
  board.setBasePath("/");
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "GPUMesh queues" } },
  });
  const boardApp = board.getRouter() as Express;
  // Bull Board's page links its fonts from Google: an admin page should not tell a third party who
  // opens it (and offline it only fails). The page falls back to system fonts.
  const withoutThirdPartyFonts: RequestHandler = (_req, res, next) => {
    const render = res.render.bind(res);
    res.render = ((view: string, params?: object) =>
      render(view, params ?? {}, (error: Error | null, html: string) => {
        if (error) return next(error);
        res.send(html.replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, ""));
      })) as typeof res.render;
    next();
  };
  boardApp.disable("x-powered-by");

  // Express's own handlers would answer with HTML and, outside production, a stack trace.
  const notFound: RequestHandler = (_req, res) => void res.status(404).json({ error: "not found" });
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) return void res.status(status).json({ error: "bad request" });
    options.logger.error({ err: error, method: req.method, path: req.path }, "admin request failed");
    if (res.headersSent) return void res.end();
    res.status(500).json({ error: "internal error" });
  };

  // The JSON API goes before the board so that a future Bull Board route can never shadow it.
  app.use(securityHeaders, requireToken, refuseCrossSiteWrites, api, withoutThirdPartyFonts, boardApp, notFound, onError);

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  options.logger.info({ port: address.port, host: options.host, queues: options.queues.map((q) => q.name) }, "queue dashboard listening");
  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A browser keeps its connection open between clicks; do not let it hold up shutdown.
        server.closeIdleConnections();
      }),
  };
}
