import { db } from "@/server/db.ts";
import { jsonResponse } from "@/server/json.ts";

export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  try {
    await db.$queryRaw`select 1`;
    return jsonResponse({ status: "ok" });
  } catch (error) {
    return jsonResponse({ status: "error", database: error instanceof Error ? error.message : String(error) }, { status: 503 });
  }
}
