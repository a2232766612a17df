import { route } from "@/server/api/route.ts";
import { WalletParams } from "@/server/api/schemas/rewards.ts";
import { walletProof } from "@/server/services/rewards/claim-state.ts";

export const dynamic = "force-dynamic";

/** Public: the wallet's cumulative amount in the newest posted tree and its merkle proof (what claim_rewards takes). */
export const GET = route({ auth: "public", params: WalletParams }, ({ params }) => walletProof(params.wallet));
