import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { removeDevice } from "@/server/services/supply/remove-device.ts";

/** Removes your device: its agent key stops working and it leaves the network (not while serving a lease). */
export const DELETE = route({ auth: "session", params: DeviceParams }, ({ session, params }) => removeDevice(session.accountId, params.deviceId));
