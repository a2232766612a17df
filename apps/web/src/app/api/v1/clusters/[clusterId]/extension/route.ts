import { ClusterParams, ExtensionPayBody } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { payExtension } from "@/server/services/clusters/extend-cluster.ts";

/** Submits the signed extend_lease; idempotent by signature. */
export const POST = route({ auth: "session", params: ClusterParams, body: ExtensionPayBody }, ({ session, params, body }) => payExtension(session, params.clusterId, body.hours, body.transaction));
