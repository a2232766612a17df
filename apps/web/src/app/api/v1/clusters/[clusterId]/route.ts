import { ClusterParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { getCluster } from "@/server/services/clusters/get-cluster.ts";

export const dynamic = "force-dynamic";

/** One of your clusters: nodes, time left, cost so far, timeline, receipts, usage. */
export const GET = route({ auth: "apiKey", params: ClusterParams }, ({ session, params }) => getCluster(session.accountId, params.clusterId));
