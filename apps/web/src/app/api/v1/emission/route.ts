import { route } from "@/server/api/route.ts";
import { emissionSummary } from "@/server/services/rewards/emission.ts";

export const dynamic = "force-dynamic";

/** Public: the MESH emission schedule against the chain (minted, burned, circulating, progress toward 300M). */
export const GET = route({ auth: "public" }, () => emissionSummary());
