import { route } from "@/server/api/route.ts";
import { jsonResponse } from "@/server/json.ts";
import { networkHeadline } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: the network at a glance, from the newest rollup. */
export const GET = route({ auth: "public" }, async () => jsonResponse(await networkHeadline(), { headers: { "cache-control": "public, max-age=5" } }));
