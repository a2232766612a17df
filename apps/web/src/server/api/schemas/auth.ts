import { z } from "zod";

const base58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
export const WalletAddress = z.string().regex(base58, "must be a base58 Solana address").min(32, "must be a Solana address (32–44 characters)").max(44, "must be a Solana address (32–44 characters)").describe("A Solana wallet address (base58)");

export const NonceBody = z.object({ address: WalletAddress });
export const VerifyBody = z.object({
  address: WalletAddress,
  message: z.string().min(1).max(2_000).describe("The sign-in message exactly as issued"),
  signature: z.string().regex(base58, "must be base58").min(64).max(100).describe("Ed25519 signature of the message (base58)"),
});
