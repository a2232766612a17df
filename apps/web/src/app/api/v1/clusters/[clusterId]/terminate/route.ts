import { ClusterParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { terminateCluster } from "@/server/services/clusters/terminate-cluster.ts";

/** Ends your running cluster now: served time is paid, the rest of the deposit is refunded on-chain. */
export const POST = route({ auth: "apiKey", params: ClusterParams }, ({ session, params }) => terminateCluster(session.accountId, params.clusterId));
