import { PageQuery } from "@/server/api/pagination.ts";
import { route } from "@/server/api/route.ts";
import { listClustersPage } from "@/server/services/clusters/list-clusters.ts";

export const dynamic = "force-dynamic";

/** Your clusters, newest first, paged (quotes never paid are left out). Accepts an API key. */
export const GET = route({ auth: "apiKey", query: PageQuery }, ({ session, query }) => listClustersPage(session.accountId, query));
