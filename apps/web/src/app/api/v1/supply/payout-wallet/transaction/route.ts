import { z } from "zod";
import { route } from "@/server/api/route.ts";
import { payoutWalletOrder } from "@/server/services/supply/registration.ts";

/** The unsigned set_payout_wallet for your wallet to sign: lease payouts go to `payoutWallet` from then on. */
export const POST = route({ auth: "session", body: z.object({ payoutWallet: z.string().min(32, "a Solana address").max(44, "a Solana address") }) }, ({ session, body }) =>
  payoutWalletOrder(session, body.payoutWallet),
);
