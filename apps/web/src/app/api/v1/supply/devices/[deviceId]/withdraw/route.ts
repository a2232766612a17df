import { route } from "@/server/api/route.ts";
import { DeviceParams, StakePayBody } from "@/server/api/schemas/supply.ts";
import { submitWithdraw } from "@/server/services/supply/stake.ts";

/** Submits your wallet-signed withdraw_stake (from POST …/withdraw/transaction). */
export const POST = route({ auth: "session", params: DeviceParams, body: StakePayBody }, ({ session, params, body }) => submitWithdraw(session, params.deviceId, body.transaction));
