"use client";

import { WalletReadyState, type WalletName } from "@solana/wallet-adapter-base";
import { useWallet, type Wallet } from "@solana/wallet-adapter-react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useMounted } from "@/hooks/use-mounted.ts";

/** The wallets this browser has (Wallet Standard), or how to get one. Renders only after mount. */
export function WalletPicker({ onPick, busy }: { onPick: (wallet: Wallet) => void; busy: boolean }) {
  const mounted = useMounted();
  const { wallets } = useWallet();
  if (!mounted) return <p className="muted">Looking for wallets…</p>;
  const usable = wallets.filter((wallet) => wallet.readyState === WalletReadyState.Installed || wallet.readyState === WalletReadyState.Loadable);
  if (usable.length === 0) {
    return (
      <div className="panel empty" data-testid="no-wallet">
        <h2>No Solana wallet found</h2>
        <p>
          Install a wallet such as <a href="https://phantom.com" rel="noreferrer">Phantom</a>, <a href="https://solflare.com" rel="noreferrer">Solflare</a> or{" "}
          <a href="https://backpack.app" rel="noreferrer">Backpack</a>, then reload this page.
        </p>
      </div>
    );
  }
  return (
    <ul className="wallet-list" aria-label="Wallets">
      {usable.map((wallet) => (
        <li key={wallet.adapter.name}>
          <ClientButton type="button" className="wallet-option" disabled={busy} onClick={() => onPick(wallet)}>
            {wallet.adapter.icon ? <img src={wallet.adapter.icon} alt="" width={24} height={24} /> : null}
            <span>{wallet.adapter.name as WalletName}</span>
          </ClientButton>
        </li>
      ))}
    </ul>
  );
}
