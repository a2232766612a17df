import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { setDevicePaused } from "@/server/services/supply/pause-device.ts";

/** Pauses your device: it takes no new leases (its current one continues) and earns no reward for the hours it is paused in. */
export const POST = route({ auth: "session", params: DeviceParams }, ({ session, params }) => setDevicePaused(session.accountId, params.deviceId, true));
