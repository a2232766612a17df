"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useSigner, walletErrorText } from "@/hooks/use-signer.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { signAndSubmit, type SigningStep } from "@/lib/signed-order.ts";

type Step = "idle" | SigningStep;
const LABEL: Record<Step, string> = { idle: "Register on-chain", building: "Preparing the transaction…", signing: "Approve it in your wallet…", confirming: "Confirming on-chain…" };

/** The one transaction that makes a supplier's verified devices rentable (register_supplier). */
export function RegisterOnChain({ sessionWallet }: { sessionWallet: string }) {
  const router = useRouter();
  const { sign } = useSigner(sessionWallet);
  const [step, setStep] = useState<Step>("idle");
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  async function register() {
    if (busy.current) return;
    busy.current = true;
    setError(null);
    try {
      // No transaction in the order: already on-chain, and recorded by that call.
      await signAndSubmit({
        order: () => api<{ transaction?: string }>("/api/v1/supply/registration/transaction", { method: "POST" }),
        sign,
        submit: (signed) => api("/api/v1/supply/registration", { body: { transaction: signed } }),
        onStep: setStep,
      });
      router.refresh();
    } catch (failure) {
      setError(failure instanceof ApiClientError ? failure.message : walletErrorText(failure));
    } finally {
      setStep("idle");
      busy.current = false;
    }
  }

  return (
    <div>
      <ClientButton type="button" className="primary" onClick={() => void register()} disabled={step !== "idle"} data-testid="register-on-chain">{LABEL[step]}</ClientButton>
      {error ? <p role="alert" className="error-text" data-testid="registration-error">{error}</p> : null}
    </div>
  );
}
