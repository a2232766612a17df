"use client";

import { useWallet } from "@solana/wallet-adapter-react";
import type { ReactNode } from "react";
import { useMounted } from "@/hooks/use-mounted.ts";
import { WalletPicker } from "./wallet-picker.tsx";

/**
 * Pages that sign (pay, extend) need the wallet chosen: after a reload nothing is selected (autoConnect
 * is off), so ask once; the wallet connects when the person signs.
 */
export function WalletGate({ children }: { children: ReactNode }) {
  const mounted = useMounted();
  const { wallet, select } = useWallet();
  if (!mounted) return null;
  if (wallet) return <>{children}</>;
  return (
    <div className="panel">
      <h2>Choose the wallet you signed in with</h2>
      <WalletPicker busy={false} onPick={(picked) => select(picked.adapter.name)} />
    </div>
  );
}
