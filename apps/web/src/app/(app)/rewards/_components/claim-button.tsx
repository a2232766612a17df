"use client";

import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useSignedOrder } from "@/hooks/use-signed-order.ts";
import { api } from "@/lib/api-client.ts";
import { money } from "@/lib/format.ts";
import type { SigningStep } from "@/lib/signed-order.ts";

type Step = "idle" | SigningStep;
const LABEL: Record<Step, string> = { idle: "Claim all", building: "Preparing the transaction…", signing: "Signing… approve it in your wallet", confirming: "Confirming on-chain…" };

interface ClaimResult {
  amount: string;
  cumulative: string;
  epoch: number;
  txSignature: string;
}

/**
 * Claims everything the wallet is owed in one transaction: the server builds claim_rewards from its
 * own proof (and creates the MESH token account if the wallet has none), the wallet signs, the server
 * checks, submits and confirms it. Disabled when nothing is claimable.
 */
export function ClaimButton({ sessionWallet, claimable }: { sessionWallet: string; claimable: string }) {
  const [claimed, setClaimed] = useState<ClaimResult | null>(null);
  const { step, error, run } = useSignedOrder<ClaimResult>(sessionWallet, {
    order: () => api<{ transaction: string }>("/api/v1/rewards/claim/transaction", { method: "POST" }),
    submit: (signed) => api<ClaimResult>("/api/v1/rewards/claim", { body: { transaction: signed } }),
  });
  const nothing = BigInt(claimable) === 0n;

  async function claim() {
    const result = await run();
    if (result) setClaimed(result);
  }

  return (
    <div className="claim">
      <ClientButton type="button" className="primary" onClick={() => void claim()} disabled={step !== "idle" || nothing} data-testid="claim-all">
        {LABEL[step]}
      </ClientButton>
      {nothing && step === "idle" && !claimed ? <p className="muted" data-testid="nothing-to-claim">Nothing to claim right now: each hour’s rewards become claimable once the hour is posted on-chain.</p> : null}
      <p role="status" aria-live="polite" className="claim-result" data-testid="claim-result">
        {claimed ? (
          <>
            Claimed <strong>{money(claimed.amount, "MESH")}</strong> (against epoch {claimed.epoch}). Transaction <a href={`/tx/${claimed.txSignature}`}><code className="signature">{claimed.txSignature}</code></a>
          </>
        ) : null}
      </p>
      {error ? <p role="alert" className="error-text" data-testid="claim-error">{error}</p> : null}
    </div>
  );
}
