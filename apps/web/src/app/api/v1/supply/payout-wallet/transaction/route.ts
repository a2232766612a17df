import { route } from "@/server/api/route.ts";
import { PayoutWalletBody } from "@/server/api/schemas/supply.ts";
import { payoutWalletOrder } from "@/server/services/supply/registration.ts";

/** The unsigned set_payout_wallet for your wallet to sign: lease payouts go to `payoutWallet` from then on. */
export const POST = route({ auth: "session", body: PayoutWalletBody }, ({ session, body }) =>
  payoutWalletOrder(session, body.payoutWallet),
);
