"use client";

import type { Wallet } from "@solana/wallet-adapter-react";
import { useWallet } from "@solana/wallet-adapter-react";
import { base58 } from "@scure/base";
import { useState } from "react";
import { WalletPicker } from "@/components/wallet/wallet-picker.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";

type Step = "pick" | "connecting" | "signing" | "verifying" | "done";
const STEP_TEXT: Record<Step, string> = {
  pick: "",
  connecting: "Connecting to your wallet…",
  signing: "Approve the sign-in message in your wallet…",
  verifying: "Checking the signature…",
  done: "Signed in. Opening GPUMesh…",
};

/** Pick a wallet → connect → sign the server's message → session cookie → go on to `next`. */
export function SignInForm({ next }: { next: string }) {
  const { select } = useWallet();
  const [step, setStep] = useState<Step>("pick");
  const [error, setError] = useState<string | null>(null);

  async function signIn(wallet: Wallet) {
    setError(null);
    const adapter = wallet.adapter;
    try {
      select(adapter.name);
      setStep("connecting");
      if (!adapter.connected) await adapter.connect();
      const address = adapter.publicKey?.toBase58();
      if (!address) throw new Error("the wallet did not share an address");
      if (!("signMessage" in adapter) || typeof adapter.signMessage !== "function") throw new Error(`${adapter.name} cannot sign messages; use another wallet`);
      const challenge = await api<{ message: string }>("/api/auth/nonce", { body: { address } });
      setStep("signing");
      const signature = await adapter.signMessage(new TextEncoder().encode(challenge.message));
      setStep("verifying");
      await api("/api/auth/verify", { body: { address, message: challenge.message, signature: base58.encode(signature) } });
      setStep("done");
      window.location.assign(next);
    } catch (failure) {
      setStep("pick");
      const message = failure instanceof ApiClientError ? failure.message : failure instanceof Error ? failure.message : String(failure);
      setError(/reject|denied|cancel/i.test(message) ? "You declined in the wallet; nothing happened. Pick a wallet to try again." : message);
    }
  }

  return (
    <div className="panel">
      <h2>Choose a wallet</h2>
      <WalletPicker onPick={(wallet) => void signIn(wallet)} busy={step !== "pick"} />
      <p role="status" aria-live="polite" className="muted" data-testid="sign-in-status">
        {STEP_TEXT[step]}
      </p>
      {error ? (
        <p role="alert" className="error-text" data-testid="sign-in-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
