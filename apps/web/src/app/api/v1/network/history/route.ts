import { HistoryQuery } from "@/server/api/schemas/explorer.ts";
import { route } from "@/server/api/route.ts";
import { history } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: one network metric over time (minute buckets up to a day, hour buckets beyond). */
export const GET = route({ auth: "public", query: HistoryQuery }, ({ query }) => history(query.metric, query.range));
