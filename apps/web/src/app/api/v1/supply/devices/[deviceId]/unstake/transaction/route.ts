import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { unstakeOrder } from "@/server/services/supply/stake.ts";

/** request_unstake for your device's stake, for your wallet to sign (it stops earning at once). */
export const POST = route({ auth: "session", params: DeviceParams }, ({ session, params }) => unstakeOrder(session, params.deviceId));
