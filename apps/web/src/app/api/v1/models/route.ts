import { route } from "@/server/api/route.ts";
import { gpuModelMarkets } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public: per GPU model, counts, free GPUs, asks and their trend over a day. */
export const GET = route({ auth: "public" }, () => gpuModelMarkets());
