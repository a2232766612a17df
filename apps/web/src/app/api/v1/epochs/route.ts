import { PageQuery } from "@/server/api/pagination.ts";
import { route } from "@/server/api/route.ts";
import { listEpochs } from "@/server/services/epochs/epochs.ts";

export const dynamic = "force-dynamic";

/** Reward epochs, newest first, paged: emission, pool, cumulative total, root, status, posting transaction. */
export const GET = route({ auth: "public", query: PageQuery }, ({ query }) => listEpochs(query));
