"use client";

import type { SignerWalletAdapter } from "@solana/wallet-adapter-base";
import { useWallet } from "@solana/wallet-adapter-react";
import { Transaction } from "@solana/web3.js";
import { useCallback } from "react";
import { fromBase64, toBase64 } from "@/lib/base64.ts";

/**
 * Signs a server-built transaction with the wallet the person signed in with. Connects the selected
 * wallet on demand (autoConnect is off); refuses a different wallet than the session's, because the
 * server built the transaction for that address and would reject it anyway.
 */
export function useSigner(sessionWallet: string) {
  const { wallet } = useWallet();
  const sign = useCallback(
    async (base64: string): Promise<string> => {
      const adapter = wallet?.adapter as SignerWalletAdapter | undefined;
      if (!adapter) throw new Error("choose your wallet first");
      if (!adapter.connected) await adapter.connect();
      const address = adapter.publicKey?.toBase58();
      if (address !== sessionWallet) throw new Error(`your wallet is on ${address?.slice(0, 4)}…, but you signed in with ${sessionWallet.slice(0, 4)}…; switch accounts in the wallet or sign in again`);
      if (typeof adapter.signTransaction !== "function") throw new Error(`${adapter.name} cannot sign transactions`);
      const signed = await adapter.signTransaction(Transaction.from(fromBase64(base64)));
      return toBase64(signed.serialize());
    },
    [wallet, sessionWallet],
  );
  return { sign, walletName: wallet?.adapter.name ?? null };
}

/** A person-readable message for a failed wallet step. */
export function walletErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /reject|denied|cancel|4001/i.test(message) ? "You declined in the wallet; nothing was charged." : message;
}
