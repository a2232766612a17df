import type { IncomingMessage, ServerResponse } from "node:http";
import { isDevicePublicKey, JoinRequest, type JoinResponse } from "@gpumesh/agent-protocol";
import { hardwareFloorProblems } from "@gpumesh/core";
import { hashJoinToken, joinDevice, type Db } from "@gpumesh/db";
import type { Logger } from "pino";

/** Same envelope as the web API: `{ error: { code, message, field?, details? } }`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, extra: { field?: string; details?: unknown; retryAfterS?: number } = {}): void {
  const { retryAfterS, ...rest } = extra;
  res.writeHead(status, { "content-type": "application/json", ...(retryAfterS ? { "retry-after": String(retryAfterS) } : {}) });
  res.end(JSON.stringify({ error: { code, message, ...rest } }));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const MAX_BODY_BYTES = 64 * 1024;

async function readBody(req: IncomingMessage): Promise<string | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return "too-large";
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const TOKEN_ERRORS = {
  TOKEN_UNKNOWN: [401, "this join token is not valid: create a new one on the Supply page"],
  TOKEN_USED: [409, "this join token was already used: each token registers one device; create a new one on the Supply page"],
  TOKEN_EXPIRED: [410, "this join token has expired: create a new one on the Supply page"],
  KEY_IN_USE: [409, "this device key is already registered (run `gpumesh-agent start`, or delete the key file to join as a new device)"],
} as const;

/** POST /join: a one-time token, a new device key and the detected hardware → a REGISTERED device. */
export async function handleJoin(req: IncomingMessage, res: ServerResponse, db: Db, logger: Logger, options: { enforceFloor: boolean; audience: string }): Promise<void> {
  const body = await readBody(req);
  if (body === "too-large") return sendError(res, 413, "PAYLOAD_TOO_LARGE", "request body is larger than 64 KiB", { field: "body" });
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return sendError(res, 400, "BAD_JSON", "request body is not JSON", { field: "body" });
  }
  const parsed = JoinRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".");
    return sendError(res, 422, "VALIDATION_FAILED", `${field || "body"}: ${issue.message}`, { field: field || "body" });
  }
  const request = parsed.data;
  if (!isDevicePublicKey(request.publicKey)) return sendError(res, 422, "VALIDATION_FAILED", "publicKey: not an ed25519 public key (base58)", { field: "publicKey" });
  const problems = options.enforceFloor ? hardwareFloorProblems(request.hardware) : [];
  if (problems.length) {
    return sendError(res, 422, "BELOW_HARDWARE_FLOOR", `this machine is below GPUMesh's minimum hardware: ${problems.join("; ")}`, { field: "hardware", details: problems });
  }
  const outcome = await joinDevice(db, { token: request.token, publicKey: request.publicKey, hardware: request.hardware });
  if (!outcome.ok) {
    const [status, message] = TOKEN_ERRORS[outcome.reason];
    return sendError(res, status, outcome.reason, message, { field: outcome.reason === "KEY_IN_USE" ? "publicKey" : "token" });
  }
  logger.info({ deviceId: outcome.device.id, gpuModelId: outcome.device.gpuModelId, gpus: outcome.device.gpuCount }, "device joined");
  const response: JoinResponse = { deviceId: outcome.device.id, name: outcome.device.name, region: outcome.device.region, gpuModelId: outcome.device.gpuModelId, gpuCount: outcome.device.gpuCount, audience: options.audience };
  sendJson(res, 201, response);
}

/** POST /join/check { token }: whether a token would join, without spending it (`gpumesh-agent doctor`). */
export async function checkJoinToken(req: IncomingMessage, res: ServerResponse, db: Db): Promise<void> {
  const body = await readBody(req);
  let token: unknown;
  try {
    token = body === "too-large" ? undefined : (JSON.parse(body) as { token?: unknown }).token;
  } catch {
    token = undefined;
  }
  if (typeof token !== "string" || token.length < 16 || token.length > 128) return sendError(res, 422, "VALIDATION_FAILED", "token: expected the join token string", { field: "token" });
  const row = await db.deviceJoinToken.findUnique({ where: { tokenHash: hashJoinToken(token) }, select: { usedAt: true, expiresAt: true } });
  const state = !row ? "TOKEN_UNKNOWN" : row.usedAt ? "TOKEN_USED" : row.expiresAt <= new Date() ? "TOKEN_EXPIRED" : null;
  if (state) {
    const [status, message] = TOKEN_ERRORS[state];
    return sendError(res, status, state, message, { field: "token" });
  }
  sendJson(res, 200, { valid: true, expiresAt: row!.expiresAt.toISOString() });
}

const SPEED_MAX_BYTES = 32 * 1024 * 1024;
const zeros = Buffer.alloc(1024 * 1024);

/** GET /speed?bytes=N sends N bytes; POST /speed reads and discards the body (bandwidth at join). */
export function handleSpeed(req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (req.method === "GET") {
    const bytes = Math.min(SPEED_MAX_BYTES, Math.max(0, Number.parseInt(url.searchParams.get("bytes") ?? "0", 10) || 0));
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes), "cache-control": "no-store" });
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const chunk = zeros.subarray(0, Math.min(left, zeros.length));
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    return pump();
  }
  if (req.method === "POST") {
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > SPEED_MAX_BYTES) req.destroy();
    });
    req.on("end", () => sendJson(res, 200, { bytes: size }));
    return;
  }
  sendError(res, 405, "METHOD_NOT_ALLOWED", "GET or POST");
}
