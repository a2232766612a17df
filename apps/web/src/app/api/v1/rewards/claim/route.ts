import { route } from "@/server/api/route.ts";
import { ClaimBody } from "@/server/api/schemas/rewards.ts";
import { submitClaim } from "@/server/services/rewards/claim-rewards.ts";

/** Submits your wallet-signed claim (from POST …/claim/transaction); answers what the program paid. */
export const POST = route({ auth: "session", body: ClaimBody }, ({ session, body }) => submitClaim(session, body.transaction));
