import { env } from "@/env.ts";
import { db } from "@/server/db.ts";
import { jsonResponse } from "@/server/json.ts";

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

/** Liveness of the web app's dependencies: the database and, when configured, the Solana RPC. */
export async function GET(): Promise<Response> {
  const checks: Record<string, unknown> = {};
  let ok = true;
  try {
    await db.$queryRaw`select 1`;
    checks.database = "ok";
  } catch (error) {
    ok = false;
    checks.database = error instanceof Error ? error.message : String(error);
  }
  if (env.SOLANA_RPC_URL) {
    try {
      checks.chain = { rpc: env.SOLANA_RPC_URL, slot: await chainSlot(env.SOLANA_RPC_URL) };
    } catch (error) {
      ok = false;
      checks.chain = { rpc: env.SOLANA_RPC_URL, error: error instanceof Error ? error.message : String(error) };
    }
  }
  return jsonResponse({ status: ok ? "ok" : "error", ...checks }, { status: ok ? 200 : 503 });
}
