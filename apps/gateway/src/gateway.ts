import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  AgentMessage,
  AgentOutbox,
  HEARTBEAT_EVERY_S,
  Liveness,
  MAX_FRAME_BYTES,
  newNonce,
  parseFrame,
  PROTOCOL_VERSION,
  RayAddress,
  verifyAuth,
  type AgentMessageOf,
  type GatewayErrorCode,
  type GatewayMessage,
  type InboxEntry,
} from "@gpumesh/agent-protocol";
import { createDb, deviceForAgentKey, markAgentOnline, markDeviceDrained, type Db } from "@gpumesh/db";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import type { GatewayEnv } from "./env.ts";
import { checkJoinToken, handleJoin, handleSpeed, sendError, sendJson } from "./join.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { HeartbeatRollup } from "./rollup.ts";

/**
 * The agent gateway: one WebSocket per device (`/agent`) and the join endpoint (`POST /join`).
 *
 * Stateless across processes: what an agent is owed lives in Redis (AgentOutbox), liveness too
 * (Liveness), and which connection holds a device is announced on a channel so a device connected to
 * two gateways keeps only the newest connection. Any number of gateways can run behind one address.
 *
 * Trust: nothing the agent says about identity or time is used. The device is the one whose key
 * signed this connection's nonce; every record is stamped with this process's clock; `seq` must grow
 * (a replayed frame is refused); acks and answers are accepted only for items in this device's outbox.
 */
export interface RunningGateway {
  url: string;
  port: number;
  db: Db;
  /** Devices connected and authenticated on this process. */
  connected(): number;
  /** Writes the pending heartbeat rollup now (it also runs every ROLLUP_EVERY_S); resolves with the rows updated. */
  flushRollup(): Promise<number>;
  stop(options?: { graceMs?: number }): Promise<void>;
}

interface Session {
  id: string;
  socket: WebSocket;
  nonce: string;
  deviceId?: string;
  lastSeq: number;
  /**
   * Outbox items already sent on this connection, as field and content (a reconnect starts empty:
   * everything is sent again; an item whose content changed, a Ray worker's newer head, is sent again).
   */
  sent: Set<string>;
  authTimer?: ReturnType<typeof setTimeout>;
  delivering?: Promise<void>;
  redeliver?: boolean;
  /** Sent `drain`: its heartbeats no longer count (the device went OFFLINE on purpose). */
  drained?: boolean;
  /** Allocations checked to be this device's (log and endpoint frames query Postgres once per allocation). */
  allocations: Set<string>;
  /** Frames received and not yet handled (bounded: a flood is cut off). */
  backlog: number;
}

/** Largest frame before authentication (an auth frame is ~300 bytes). */
const MAX_UNAUTHENTICATED_FRAME = 8 * 1024;
/** Frames one connection may have waiting; more is a flood (an honest agent has a handful). */
const MAX_BACKLOG = 512;

/** WebSocket close codes (4000-4999: application). */
const CLOSE = { authFailed: 4401, authTimeout: 4408, replaced: 4409, removed: 4410, shuttingDown: 1001, badMessage: 4400 } as const;

export async function startGateway(env: GatewayEnv, logger: Logger, options: { port?: number } = {}): Promise<RunningGateway> {
  const db = createDb(env.DATABASE_URL, { max: 8 });
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  for (const connection of [redis, subscriber]) connection.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  const outbox = new AgentOutbox(redis, env.GATEWAY_PREFIX);
  const liveness = new Liveness(redis, env.GATEWAY_PREFIX);
  const keys = outbox.keys;
  const metrics = createGatewayMetrics();
  const sessions = new Set<Session>();
  const byDevice = new Map<string, Session>();
  const rollup = new HeartbeatRollup(
    db,
    env.ROLLUP_EVERY_S * 1000,
    (error) => logger.warn({ err: error }, "heartbeat rollup failed; the next one retries"),
    // Removed since their last beat (and the removal's notice did not reach this process): close them.
    (gone) => {
      for (const deviceId of gone) {
        const session = byDevice.get(deviceId);
        if (session) closeWith(session, "UNKNOWN_DEVICE", CLOSE.removed, "this device was removed from the network");
      }
    },
  );
  rollup.start();
  let stopping = false;

  // Heartbeats reach Redis in batches (one ZADD per ~20 ms), so the per-beat cost is a Map insert.
  let beats: { deviceId: string; at: number }[] = [];
  let beatTimer: ReturnType<typeof setTimeout> | undefined;
  const flushBeats = () => {
    beatTimer = undefined;
    const batch = beats;
    beats = [];
    liveness.beat(batch).catch((error: unknown) => logger.warn({ err: error }, "liveness write failed"));
  };

  const send = (session: Session, message: GatewayMessage) => {
    if (session.socket.readyState === session.socket.OPEN) session.socket.send(JSON.stringify(message));
  };
  const refuse = (session: Session, code: GatewayErrorCode, message: string, seq?: number) => {
    metrics.refusals.inc({ code });
    send(session, { type: "error", code, message, ...(seq ? { seq } : {}) });
  };
  const closeWith = (session: Session, code: GatewayErrorCode, closeCode: number, message: string) => {
    refuse(session, code, message);
    session.socket.close(closeCode, code);
  };

  /** Sends what the device's outbox holds that this connection has not sent yet; coalesces bursts. */
  const deliver = (session: Session): Promise<void> => {
    if (session.delivering) {
      session.redeliver = true;
      return session.delivering;
    }
    session.delivering = (async () => {
      do {
        session.redeliver = false;
        if (!session.deviceId) return;
        const items = (await outbox.pending(session.deviceId)).map((item) => ({ ...item, key: `${item.field} ${JSON.stringify(item.message)}` }));
        // Forget what left the outbox (answered elsewhere, revoked, expired, overwritten): the set stays bounded.
        const open = new Set(items.map((item) => item.key));
        for (const key of session.sent) if (!open.has(key)) session.sent.delete(key);
        for (const { key, message } of items) {
          if (session.sent.has(key)) continue;
          session.sent.add(key);
          send(session, message);
          metrics.delivered.inc({ type: message.type });
        }
      } while (session.redeliver);
    })()
      .catch((error: unknown) => logger.warn({ err: error, deviceId: session.deviceId }, "outbox delivery failed; the next change or reconnect retries"))
      .finally(() => {
        session.delivering = undefined;
      });
    return session.delivering;
  };

  await subscriber.subscribe(keys.notify, keys.takeover);
  subscriber.on("message", (channel, payload) => {
    if (channel === keys.notify) {
      const session = byDevice.get(payload);
      if (session) void deliver(session);
    } else if (channel === keys.takeover) {
      const { deviceId, sessionId } = JSON.parse(payload) as { deviceId: string; sessionId: string };
      const session = byDevice.get(deviceId);
      if (session && sessionId === "removed") closeWith(session, "UNKNOWN_DEVICE", CLOSE.removed, "this device was removed from the network");
      else if (session && session.id !== sessionId) closeWith(session, "REPLACED", CLOSE.replaced, "this device connected again elsewhere; this connection is closed");
    }
  });

  const authenticate = async (session: Session, message: AgentMessageOf<"auth">) => {
    if (!verifyAuth(message.publicKey, env.GATEWAY_AUDIENCE, session.nonce, message.signature)) {
      metrics.auth.inc({ result: "bad-signature" });
      return closeWith(session, "AUTH_FAILED", CLOSE.authFailed, "the signature does not match this connection's nonce and the device key");
    }
    // The agent answered in time with a valid signature: our own lookup's time (a busy database, a
    // reconnect storm after a restart) must not count against it and close it as too slow.
    clearTimeout(session.authTimer);
    const device = await deviceForAgentKey(db, message.publicKey);
    if (!device) {
      metrics.auth.inc({ result: "unknown-device" });
      return closeWith(session, "UNKNOWN_DEVICE", CLOSE.removed, "no device is registered with this key (removed, or never joined): run `gpumesh-agent join` with a new token");
    }
    if (session.socket.readyState !== session.socket.OPEN) return;
    session.deviceId = device.id;
    const previous = byDevice.get(device.id);
    // Registered before the online write below: a removal committed after that write finds this
    // session through its notice; one committed before makes the write fail.
    byDevice.set(device.id, session);
    if (previous && previous !== session) closeWith(previous, "REPLACED", CLOSE.replaced, "this device connected again; this connection is closed");
    await redis.multi().set(keys.holder(device.id), session.id, "EX", 3_600).publish(keys.takeover, JSON.stringify({ deviceId: device.id, sessionId: session.id })).exec();
    const now = new Date();
    // The online transition is written now (not at the next rollup): a returning device is rentable at
    // once; conditional on the key still being the device's (removed meanwhile: refused).
    // What the agent says of its runtime is trusted as far as it goes: an agent that claims images and
    // cannot run them refuses the assignment, and the cluster is placed again elsewhere.
    if (!(await markAgentOnline(db, device.id, message.publicKey, now, message.runsImages ?? false))) {
      metrics.auth.inc({ result: "unknown-device" });
      return closeWith(session, "UNKNOWN_DEVICE", CLOSE.removed, "this device was removed from the network");
    }
    if (session.socket.readyState !== session.socket.OPEN) return;
    await liveness.beat([{ deviceId: device.id, at: now.getTime() }]);
    metrics.auth.inc({ result: "ok" });
    logger.debug({ deviceId: device.id, agentVersion: message.agentVersion, runsImages: message.runsImages ?? false }, "agent connected");
    send(session, { type: "welcome", deviceId: device.id, serverTime: now.toISOString(), heartbeatEveryS: HEARTBEAT_EVERY_S });
    await deliver(session);
  };

  /** Takes an answered item out of the outbox (and records it); refuses what this device was never sent. */
  const answer = async (session: Session, seq: number, field: string, entry: InboxEntry | null) => {
    const taken = await outbox.answer(session.deviceId!, field, entry);
    for (const key of session.sent) if (key.startsWith(`${field} `)) session.sent.delete(key);
    if (!taken) refuse(session, "NOT_YOURS", `nothing open for this device matches ${field.split(":")[0]} ${field.split(":")[1]}`, seq);
  };

  /**
   * A Ray head's address: accepted only from the allocation the scheduler made its cluster's head (a
   * worker cannot point the others elsewhere), recorded with its endpoints, then put in the outbox of
   * every worker of the cluster. Recorded first: a worker assigned after this read of the workers finds
   * it when its assignment is queued (AgentOutbox.assign).
   */
  const rayHead = async (session: Session, message: AgentMessageOf<"endpoint">) => {
    const address = RayAddress.safeParse(message.url);
    if (!address.success) return refuse(session, "BAD_MESSAGE", "a ray-head endpoint is host:port", message.seq);
    const head = await db.allocation.findFirst({ where: { id: message.allocationId, deviceId: session.deviceId!, status: "ACTIVE", rayRole: "HEAD" }, select: { clusterId: true } });
    if (!head) return refuse(session, "NOT_YOURS", `allocation ${message.allocationId} is not the Ray head of its cluster`, message.seq);
    const key = keys.endpoints(message.allocationId);
    await redis.multi().hset(key, "ray-head", address.data).expire(key, 30 * 86_400).exec();
    const workers = await db.allocation.findMany({ where: { clusterId: head.clusterId, status: "ACTIVE", rayRole: "WORKER" }, select: { id: true, deviceId: true, endsAt: true } });
    await Promise.all(workers.map((worker) => outbox.rayHead(worker.deviceId, { allocationId: worker.id, headAllocationId: message.allocationId, address: address.data, endsAt: worker.endsAt })));
    logger.debug({ allocationId: message.allocationId, workers: workers.length }, "ray head address forwarded");
  };

  const handle = async (session: Session, message: AgentMessage) => {
    if (message.type === "auth") {
      if (session.deviceId) return refuse(session, "BAD_MESSAGE", "already authenticated");
      return authenticate(session, message);
    }
    if (!session.deviceId) return closeWith(session, "AUTH_REQUIRED", CLOSE.authFailed, "authenticate first");
    if (message.seq <= session.lastSeq) return refuse(session, "REPLAYED", `seq ${message.seq} is not after ${session.lastSeq}: refused as a replay`, message.seq);
    session.lastSeq = message.seq;
    const deviceId = session.deviceId;
    const now = new Date();
    metrics.messages.inc({ type: message.type });
    switch (message.type) {
      case "heartbeat": {
        if (session.drained) return send(session, { type: "heartbeat-ack", seq: message.seq, serverTime: now.toISOString() });
        beats.push({ deviceId, at: now.getTime() });
        if (beats.length >= 1_000) flushBeats();
        else beatTimer ??= setTimeout(flushBeats, 20);
        rollup.note(deviceId, now);
        metrics.lag.observe(Math.max(0, now.getTime() - Date.parse(message.sentAt)) / 1000);
        return send(session, { type: "heartbeat-ack", seq: message.seq, serverTime: now.toISOString() });
      }
      case "ack": {
        const item = await outbox.item(deviceId, `assign:${message.allocationId}`);
        if (item?.type !== "assign") return refuse(session, "NOT_YOURS", `allocation ${message.allocationId} is not assigned to this device (or was already answered or revoked)`, message.seq);
        const reason = message.accepted ? {} : { reason: message.reason ?? "refused by the agent" };
        return answer(session, message.seq, `assign:${message.allocationId}`, {
          kind: "response",
          response: { allocationId: message.allocationId, clusterId: item.assignment.clusterId, deviceId, accepted: message.accepted, ...reason, at: now.toISOString() },
        });
      }
      case "revoked":
        return answer(session, message.seq, `revoke:${message.allocationId}`, null);
      case "commitment":
        if (message.commitment.deviceId !== deviceId) return refuse(session, "NOT_YOURS", "the commitment names another device", message.seq);
        return answer(session, message.seq, `challenge:${message.commitment.challengeId}`, { kind: "commitment", commitment: message.commitment, receivedAt: now.toISOString() });
      case "opening":
        if (message.opening.deviceId !== deviceId) return refuse(session, "NOT_YOURS", "the opening names another device", message.seq);
        return answer(session, message.seq, `rows:${message.opening.challengeId}`, { kind: "opening", opening: message.opening, receivedAt: now.toISOString() });
      case "endpoint":
      case "log": {
        if (!session.allocations.has(message.allocationId)) {
          const allocation = await db.allocation.findFirst({ where: { id: message.allocationId, deviceId, status: "ACTIVE" }, select: { id: true } });
          if (!allocation) return refuse(session, "NOT_YOURS", `allocation ${message.allocationId} is not running on this device`, message.seq);
          if (session.allocations.size >= 64) session.allocations.clear();
          session.allocations.add(message.allocationId);
        }
        if (message.type === "endpoint" && message.kind === "ray-head") return rayHead(session, message);
        const key = message.type === "endpoint" ? keys.endpoints(message.allocationId) : `${env.GATEWAY_PREFIX}:logs:${message.allocationId}`;
        if (message.type === "endpoint") await redis.multi().hset(key, message.kind, message.url).expire(key, 30 * 86_400).exec();
        else await redis.multi().rpush(key, ...message.lines.map((line) => `${now.toISOString()} ${line}`)).ltrim(key, -1_000, -1).expire(key, 7 * 86_400).exec();
        return;
      }
      case "drain": {
        logger.info({ deviceId, reason: message.reason }, "agent draining");
        session.drained = true;
        rollup.forget(deviceId);
        await markDeviceDrained(db, deviceId);
        await liveness.forget([deviceId]);
        return;
      }
    }
  };

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  sockets.on("connection", (socket: WebSocket) => {
    const session: Session = { id: randomUUID(), socket, nonce: newNonce(), lastSeq: 0, sent: new Set(), allocations: new Set(), backlog: 0 };
    sessions.add(session);
    metrics.connections.inc();
    session.authTimer = setTimeout(() => closeWith(session, "AUTH_REQUIRED", CLOSE.authTimeout, `no authentication within ${env.AUTH_TIMEOUT_S} s`), env.AUTH_TIMEOUT_S * 1000);
    // Frames of one connection are handled in order (an ack must not overtake the auth before it).
    let queue: Promise<void> = Promise.resolve();
    socket.on("message", (data, isBinary) => {
      const size = Array.isArray(data) ? data.reduce((n, part) => n + part.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
      if (!session.deviceId && size > MAX_UNAUTHENTICATED_FRAME) return closeWith(session, "BAD_MESSAGE", CLOSE.badMessage, "frame too large before authentication");
      if (++session.backlog > MAX_BACKLOG) {
        metrics.refusals.inc({ code: "FLOOD" });
        return void socket.terminate();
      }
      queue = queue.then(async () => {
        session.backlog--;
        // Frames an authenticated agent sent just before closing (a drain, a last ack) still count;
        // an unauthenticated connection that closed is dropped.
        if (!session.deviceId && socket.readyState !== socket.OPEN) return;
        if (isBinary) return refuse(session, "BAD_MESSAGE", "frames are JSON text");
        const message = parseFrame(AgentMessage, data.toString());
        if (!message) return refuse(session, "BAD_MESSAGE", "not a well-formed agent message");
        await handle(session, message).catch((error: unknown) => {
          logger.error({ err: error, deviceId: session.deviceId, type: message.type }, "agent message failed");
          refuse(session, "BAD_MESSAGE", "the gateway could not process this message; send it again", "seq" in message ? message.seq : undefined);
        });
      });
    });
    socket.on("close", () => {
      clearTimeout(session.authTimer);
      sessions.delete(session);
      metrics.connections.dec();
      if (session.deviceId && byDevice.get(session.deviceId) === session) byDevice.delete(session.deviceId);
    });
    socket.on("error", (error) => logger.debug({ err: error }, "agent socket error"));
    send(session, { type: "hello", protocol: PROTOCOL_VERSION, audience: env.GATEWAY_AUDIENCE, nonce: session.nonce, serverTime: new Date().toISOString() });
  });

  // Join and speed-test requests per IP per minute (tokens are 256-bit, so this is about load, not
  // guessing). Keyed on the socket address: behind a load balancer, run the limit at the balancer.
  const joins = new Map<string, { windowStart: number; count: number }>();
  const limited = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const ip = req.socket.remoteAddress ?? "?";
    const now = Date.now();
    if (joins.size > 100_000) for (const [key, window] of joins) if (now - window.windowStart >= 60_000) joins.delete(key);
    const window = joins.get(ip);
    if (window && now - window.windowStart < 60_000 && window.count >= env.JOIN_RATE_PER_MINUTE) {
      sendError(res, 429, "RATE_LIMITED", "too many requests from this address", { retryAfterS: Math.ceil((window.windowStart + 60_000 - now) / 1000) });
      return true;
    }
    if (!window || now - window.windowStart >= 60_000) joins.set(ip, { windowStart: now, count: 1 });
    else window.count++;
    return false;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (req.method === "GET" && url.pathname === "/health") return sendJson(res, stopping ? 503 : 200, { status: stopping ? "stopping" : "ok" });
    if (req.method === "GET" && url.pathname === "/metrics") {
      metrics.devicesConnected.set(byDevice.size);
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      });
      return;
    }
    if (url.pathname === "/speed") return limited(req, res) ? undefined : handleSpeed(req, res, url);
    if (url.pathname === "/join/check" && req.method === "POST") {
      checkJoinToken(req, res, db).catch((error: unknown) => {
        logger.error({ err: error }, "token check failed");
        if (!res.headersSent) sendError(res, 500, "INTERNAL", "the gateway could not check this token; try again");
      });
      return;
    }
    if (url.pathname === "/join") {
      if (req.method !== "POST") return sendError(res, 405, "METHOD_NOT_ALLOWED", "POST only");
      if (limited(req, res)) return;
      handleJoin(req, res, db, logger, { enforceFloor: env.GATEWAY_HARDWARE_FLOOR === "standard", audience: env.GATEWAY_AUDIENCE }).catch((error: unknown) => {
        logger.error({ err: error }, "join failed");
        if (!res.headersSent) sendError(res, 500, "INTERNAL", "the gateway could not register this device; try again");
      });
      return;
    }
    sendError(res, 404, "NOT_FOUND", "no such endpoint");
  });
  server.on("upgrade", (req, socket, head) => {
    if (stopping || new URL(req.url ?? "/", "http://gateway").pathname !== "/agent") {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit("connection", ws, req));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? env.GATEWAY_PORT, env.GATEWAY_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port, host: env.GATEWAY_HOST }, "agent gateway listening");

  return {
    url: `http://${env.GATEWAY_HOST}:${port}`,
    port,
    db,
    connected: () => byDevice.size,
    flushRollup: () => rollup.flush(),
    async stop({ graceMs = 5_000 } = {}) {
      stopping = true;
      // Agents reconnect (to another gateway behind the same address) with backoff; nothing they are
      // owed is lost, it is in Redis.
      for (const session of sessions) closeWith(session, "SHUTTING_DOWN", CLOSE.shuttingDown, "gateway restarting");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(resolve, graceMs).unref();
        server.closeAllConnections?.();
      });
      sockets.close();
      if (beatTimer) clearTimeout(beatTimer);
      flushBeats();
      await rollup.stop();
      subscriber.disconnect();
      await redis.quit().catch(() => undefined);
      await db.$disconnect();
    },
  };
}
