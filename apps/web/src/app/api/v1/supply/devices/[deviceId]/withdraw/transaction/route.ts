import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { withdrawOrder } from "@/server/services/supply/stake.ts";

/** withdraw_stake for your device, for your wallet to sign (the program refuses it before the 7-day cooldown ends). */
export const POST = route({ auth: "session", params: DeviceParams }, ({ session, params }) => withdrawOrder(session, params.deviceId));
