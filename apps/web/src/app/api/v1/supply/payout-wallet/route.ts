import { route } from "@/server/api/route.ts";
import { PayoutWalletPayBody } from "@/server/api/schemas/supply.ts";
import { submitPayoutWallet } from "@/server/services/supply/registration.ts";

/** Submits your wallet-signed set_payout_wallet (from POST …/payout-wallet/transaction). */
export const POST = route(
  { auth: "session", body: PayoutWalletPayBody },
  ({ session, body }) => submitPayoutWallet(session, body.payoutWallet, body.transaction),
);
