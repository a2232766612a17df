import { z } from "zod";

export const ClusterParams = z.object({ clusterId: z.string().uuid("must be a cluster id (UUID)") });
export const QuoteParams = z.object({ quoteId: z.string().uuid("must be a quote id (UUID)") });

/** A wallet-signed transaction, base64 wire format (at most one Solana packet). */
export const SignedTransaction = z.string().min(1).max(1_700).regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64").describe("The wallet-signed transaction (base64)");

export const PayBody = z.object({ transaction: SignedTransaction });

export const ExtensionBody = z.object({
  hours: z.number({ error: "must be a number of hours" }).int("must be whole hours").min(1, "must be at least 1").max(24 * 30, "must be at most 720 (30 days) per extension").describe("Hours to add at the same price"),
});
export const ExtensionPayBody = ExtensionBody.extend({ transaction: SignedTransaction });
