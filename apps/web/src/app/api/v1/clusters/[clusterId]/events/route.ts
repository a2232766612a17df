import { ClusterParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { streamCluster } from "@/server/services/clusters/stream-cluster.ts";

export const dynamic = "force-dynamic";

/** Server-sent events: the cluster's full state now and after every change, until it is over. */
export const GET = route({ auth: "apiKey", params: ClusterParams }, ({ session, params, request }) => streamCluster(session.accountId, params.clusterId, request.signal));
