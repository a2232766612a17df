import { route } from "@/server/api/route.ts";
import { EpochParams } from "@/server/api/schemas/epochs.ts";
import { getEpoch } from "@/server/services/epochs/epochs.ts";

export const dynamic = "force-dynamic";

/** One reward epoch (404 when there is none with that number). */
export const GET = route({ auth: "public", params: EpochParams }, ({ params }) => getEpoch(params.epoch));
