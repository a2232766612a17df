import { route } from "@/server/api/route.ts";
import { DeviceIdParams } from "@/server/api/schemas/directory.ts";
import { devicePage } from "@/server/services/explorer/directory.ts";

/** Public: a device's spec, status and why, uptime, latest checks, leases served and earnings per epoch. */
export const GET = route({ auth: "public", params: DeviceIdParams }, ({ params }) => devicePage(params.deviceId));
