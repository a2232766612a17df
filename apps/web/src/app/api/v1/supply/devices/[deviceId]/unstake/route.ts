import { route } from "@/server/api/route.ts";
import { DeviceParams, StakePayBody } from "@/server/api/schemas/supply.ts";
import { submitUnstake } from "@/server/services/supply/stake.ts";

/** Submits your wallet-signed request_unstake (from POST …/unstake/transaction). */
export const POST = route({ auth: "session", params: DeviceParams, body: StakePayBody }, ({ session, params, body }) => submitUnstake(session, params.deviceId, body.transaction));
