import { route } from "@/server/api/route.ts";
import { DeviceParams, StakePayBody } from "@/server/api/schemas/supply.ts";
import { submitStake } from "@/server/services/supply/stake.ts";

/** Submits your wallet-signed stake_device (from POST …/stake/transaction). */
export const POST = route({ auth: "session", params: DeviceParams, body: StakePayBody }, ({ session, params, body }) => submitStake(session, params.deviceId, body.transaction));
