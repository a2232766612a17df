import { networkSummary } from "@gpumesh/db";
import { route } from "@/server/api/route.ts";
import { db } from "@/server/db.ts";
import { jsonResponse } from "@/server/json.ts";

export const dynamic = "force-dynamic";

/** Public: the network at a glance (devices, GPUs online and hired, by model and region). */
export const GET = route({ auth: "public" }, async () => jsonResponse(await networkSummary(db), { headers: { "cache-control": "public, max-age=5" } }));
