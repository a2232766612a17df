"use client";

import { WalletProvider } from "@solana/wallet-adapter-react";
import type { ReactNode } from "react";

/**
 * Wallet Standard wallets (Phantom, Solflare, Backpack, any other) register themselves; no adapter
 * list is needed. Mounted only where a wallet is used (sign-in and the signed-in app), so the public
 * explorer ships no wallet code. autoConnect stays off: a page connects when the person acts.
 */
export function WalletProviders({ children }: { children: ReactNode }) {
  return (
    <WalletProvider wallets={[]} autoConnect={false} localStorageKey="gpumesh-wallet">
      {children}
    </WalletProvider>
  );
}
