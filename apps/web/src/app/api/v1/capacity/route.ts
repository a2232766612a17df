import { CapacityQuery } from "@/server/api/schemas/explorer.ts";
import { route } from "@/server/api/route.ts";
import { capacity } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: how many clusters of each shape could be deployed this minute. */
export const GET = route({ auth: "public", query: CapacityQuery }, ({ query }) =>
  capacity({ gpuModelId: query.model, gpuCount: query.gpus, region: query.region, connectivityTier: query.tier, verification: query.verification, runtime: query.runtime }),
);
