import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { supplierDeviceDetail } from "@/server/services/supply/device-detail.ts";
import { removeDevice } from "@/server/services/supply/remove-device.ts";

/** Your device: spec, current lease, every recent proof-of-work check with its evidence, earnings per day. */
export const GET = route({ auth: "session", params: DeviceParams }, ({ session, params }) => supplierDeviceDetail(session.accountId, params.deviceId));

/** Removes your device: its agent key stops working and it leaves the network (not while serving a lease). */
export const DELETE = route({ auth: "session", params: DeviceParams }, ({ session, params }) => removeDevice(session.accountId, params.deviceId));
