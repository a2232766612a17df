import { ModelHistoryParams, ModelHistoryQuery } from "@/server/api/schemas/explorer.ts";
import { route } from "@/server/api/route.ts";
import { modelHistory } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: one GPU model's lowest and median asks over time (the explorer's price chart). */
export const GET = route({ auth: "public", params: ModelHistoryParams, query: ModelHistoryQuery }, ({ params, query }) => modelHistory(params.gpuModelId, query.range));
