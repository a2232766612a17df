"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { ClientButton, ClientInput } from "@/components/ui/client-controls.tsx";
import { useSigner, walletErrorText } from "@/hooks/use-signer.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { signAndSubmit } from "@/lib/signed-order.ts";

/** Rotates the payout wallet of the on-chain supplier record (set_payout_wallet, signed by the supplier's wallet). */
export function PayoutWalletForm({ sessionWallet }: { sessionWallet: string }) {
  const router = useRouter();
  const { sign } = useSigner(sessionWallet);
  const [payoutWallet, setPayoutWallet] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const inFlight = useRef(false);

  async function submit() {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      await signAndSubmit({
        order: () => api<{ transaction: string }>("/api/v1/supply/payout-wallet/transaction", { body: { payoutWallet } }),
        sign,
        submit: (signed) => api("/api/v1/supply/payout-wallet", { body: { payoutWallet, transaction: signed } }),
      });
      setPayoutWallet("");
      router.refresh();
    } catch (failure) {
      setError(failure instanceof ApiClientError ? { message: failure.message, ...(failure.field ? { field: failure.field } : {}) } : { message: walletErrorText(failure) });
    } finally {
      setBusy(false);
      inFlight.current = false;
    }
  }

  return (
    <form className="form" onSubmit={(event) => { event.preventDefault(); void submit(); }}>
      <label className="field">
        <span>New payout wallet</span>
        <ClientInput name="payoutWallet" value={payoutWallet} onChange={(event) => setPayoutWallet(event.target.value.trim())} placeholder="Solana address (base58)" required minLength={32} maxLength={44} aria-invalid={error?.field === "payoutWallet"} aria-describedby="payout-hint" disabled={busy} />
        <small id="payout-hint">Later settlements of every lease pay this wallet; one transaction from your wallet.</small>
      </label>
      <div>
        <ClientButton type="submit" className="primary" disabled={busy} data-testid="rotate-payout">{busy ? "Waiting for the wallet and the chain…" : "Change payout wallet"}</ClientButton>
      </div>
      {error ? <p role="alert" className="error-text" data-testid="payout-error">{error.message}</p> : null}
    </form>
  );
}
