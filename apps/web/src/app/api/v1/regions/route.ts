import { route } from "@/server/api/route.ts";
import { networkRegions } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: per region, counts, free GPUs and asks, with the region's map coordinates. */
export const GET = route({ auth: "public" }, () => networkRegions());
