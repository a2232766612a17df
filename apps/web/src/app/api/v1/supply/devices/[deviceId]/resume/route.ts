import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { setDevicePaused } from "@/server/services/supply/pause-device.ts";

/** Resumes your paused device: it is offered to renters again at once. */
export const POST = route({ auth: "session", params: DeviceParams }, ({ session, params }) => setDevicePaused(session.accountId, params.deviceId, false));
