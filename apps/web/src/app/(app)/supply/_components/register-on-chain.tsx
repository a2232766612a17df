"use client";

import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useSignedOrder } from "@/hooks/use-signed-order.ts";
import { api } from "@/lib/api-client.ts";
import type { SigningStep } from "@/lib/signed-order.ts";

type Step = "idle" | SigningStep;
const LABEL: Record<Step, string> = { idle: "Register on-chain", building: "Preparing the transaction…", signing: "Approve it in your wallet…", confirming: "Confirming on-chain…" };

/** The one transaction that makes a supplier's verified devices rentable (register_supplier). */
export function RegisterOnChain({ sessionWallet }: { sessionWallet: string }) {
  // No transaction in the order: already on-chain, and recorded by that call.
  const { step, error, run: register } = useSignedOrder(sessionWallet, {
    order: () => api<{ transaction?: string }>("/api/v1/supply/registration/transaction", { method: "POST" }),
    submit: (signed) => api("/api/v1/supply/registration", { body: { transaction: signed } }),
  });

  return (
    <div>
      <ClientButton type="button" className="primary" onClick={() => void register()} disabled={step !== "idle"} data-testid="register-on-chain">{LABEL[step]}</ClientButton>
      {error ? <p role="alert" className="error-text" data-testid="registration-error">{error}</p> : null}
    </div>
  );
}
