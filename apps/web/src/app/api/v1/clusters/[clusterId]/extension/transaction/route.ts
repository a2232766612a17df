import { ClusterParams, ExtensionBody } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { orderExtension } from "@/server/services/clusters/extend-cluster.ts";

/** The unsigned extend_lease (top-up at the same price) for your wallet to sign. */
export const POST = route({ auth: "session", params: ClusterParams, body: ExtensionBody }, ({ session, params, body }) => orderExtension(session, params.clusterId, body.hours));
