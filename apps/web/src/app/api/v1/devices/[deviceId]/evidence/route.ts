import { route } from "@/server/api/route.ts";
import { DeviceIdParams, EvidenceQuery } from "@/server/api/schemas/directory.ts";
import { deviceEvidence } from "@/server/services/explorer/directory.ts";

/** Public: every proof-of-work check of a device with its evidence, newest first, paged. */
export const GET = route({ auth: "public", params: DeviceIdParams, query: EvidenceQuery }, ({ params, query }) => deviceEvidence(params.deviceId, query));
