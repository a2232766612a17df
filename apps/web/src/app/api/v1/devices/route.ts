import { route } from "@/server/api/route.ts";
import { DeviceListQuery } from "@/server/api/schemas/directory.ts";
import { listDevices } from "@/server/services/explorer/directory.ts";

/** Public: the devices table (search, filters, sort), one keyset page at a time. */
export const GET = route({ auth: "public", query: DeviceListQuery }, ({ query }) => listDevices(query));
