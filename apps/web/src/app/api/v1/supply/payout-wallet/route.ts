import { z } from "zod";
import { route } from "@/server/api/route.ts";
import { submitPayoutWallet } from "@/server/services/supply/registration.ts";

/** Submits your wallet-signed set_payout_wallet (from POST …/payout-wallet/transaction). */
export const POST = route(
  { auth: "session", body: z.object({ payoutWallet: z.string().min(32, "a Solana address").max(44, "a Solana address"), transaction: z.string().min(1, "the signed transaction (base64)").max(4_096) }) },
  ({ session, body }) => submitPayoutWallet(session, body.payoutWallet, body.transaction),
);
