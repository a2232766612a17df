"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { useSigner, walletErrorText } from "@/hooks/use-signer.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";

type Step = "idle" | "building" | "signing" | "confirming";
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
      for (let attempt = 1; ; attempt++) {
        setStep("building");
        const order = await api<{ transaction?: string; registered?: boolean }>("/api/v1/supply/registration/transaction", { method: "POST" });
        if (!order.transaction) break; // already on-chain: recorded
        setStep("signing");
        const signed = await sign(order.transaction);
        setStep("confirming");
        try {
          await api("/api/v1/supply/registration", { body: { transaction: signed } });
          break;
        } catch (failure) {
          if (attempt >= 2 || !(failure instanceof ApiClientError) || failure.code !== "EXPIRED" || failure.field !== "transaction") throw failure;
        }
      }
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
      <button type="button" className="primary" onClick={() => void register()} disabled={step !== "idle"} data-testid="register-on-chain">{LABEL[step]}</button>
      {error ? <p role="alert" className="error-text" data-testid="registration-error">{error}</p> : null}
    </div>
  );
}
