import { env } from "@/env.ts";
import { db } from "@/server/db.ts";
import { jsonResponse } from "@/server/json.ts";
import { logger } from "@/server/logger.ts";
import { redis } from "@/server/redis.ts";

export const dynamic = "force-dynamic";

async function chainSlot(url: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [{ commitment: "confirmed" }] }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as { result?: number; error?: { message: string } };
  if (typeof body.result !== "number") throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body.result;
}

async function check(name: string, probe: () => Promise<unknown>): Promise<"ok" | "unavailable"> {
  try {
    await probe();
    return "ok";
  } catch (error) {
    // The reason goes to the log only: a public endpoint never shows URLs, hosts or raw errors.
    logger.warn({ err: error, dependency: name }, "health check failed");
    return "unavailable";
  }
}

/** Public liveness: ok or not per dependency (database, Redis, the chain when configured), nothing more. */
export async function GET(): Promise<Response> {
  const checks: Record<string, "ok" | "unavailable"> = {
    database: await check("database", () => db.$queryRaw`select 1`),
    redis: await check("redis", () => redis.ping()),
  };
  const rpc = env.SOLANA_RPC_URL;
  if (rpc) checks.chain = await check("chain", () => chainSlot(rpc));
  const ok = Object.values(checks).every((value) => value === "ok");
  return jsonResponse({ status: ok ? "ok" : "error", ...checks }, { status: ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}
