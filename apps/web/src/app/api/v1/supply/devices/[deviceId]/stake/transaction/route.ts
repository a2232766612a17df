import { route } from "@/server/api/route.ts";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { stakeOrder } from "@/server/services/supply/stake.ts";

/** stake_device for your device, sized by its catalogue weight and co-signed by the network, for your wallet to sign. */
export const POST = route({ auth: "session", params: DeviceParams }, ({ session, params }) => stakeOrder(session, params.deviceId));
