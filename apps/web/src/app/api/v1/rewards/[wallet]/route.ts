import { route } from "@/server/api/route.ts";
import { RewardsQuery, WalletParams } from "@/server/api/schemas/rewards.ts";
import { walletRewards } from "@/server/services/rewards/wallet-rewards.ts";

export const dynamic = "force-dynamic";

/** Public: a wallet's rewards per epoch and device (with the formula's numbers), claimable now, and its claims. */
export const GET = route({ auth: "public", params: WalletParams, query: RewardsQuery }, ({ params, query }) => walletRewards(params.wallet, query));
