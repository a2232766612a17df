import { route } from "@/server/api/route.ts";
import { claimOrder } from "@/server/services/rewards/claim-rewards.ts";

/** The unsigned claim_rewards for everything your wallet is owed (409 NOTHING_TO_CLAIM when nothing is). */
export const POST = route({ auth: "session" }, ({ session }) => claimOrder(session));
