"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { ApiClientError } from "@/lib/api-client.ts";
import { signAndSubmit, type SigningStep } from "@/lib/signed-order.ts";
import { useSigner, walletErrorText } from "./use-signer.ts";

/**
 * One button's server-built transaction (claim, register on-chain, stake): `run` fetches the order, has
 * the session wallet sign it and submits it (`signAndSubmit`), then refreshes the page to read the
 * result back. A second click while one runs does nothing; `step` says where it is ("idle" otherwise)
 * and `error` why the last one failed, in the server's words or the wallet's.
 */
export function useSignedOrder<T>(sessionWallet: string, steps: { order(): Promise<{ transaction?: string }>; submit(signed: string): Promise<T> }) {
  const router = useRouter();
  const { sign } = useSigner(sessionWallet);
  const [step, setStep] = useState<"idle" | SigningStep>("idle");
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  /** The submit's answer; undefined when the order needed no transaction or the flow failed (see `error`). */
  async function run(): Promise<T | undefined> {
    if (busy.current) return undefined;
    busy.current = true;
    setError(null);
    try {
      const result = await signAndSubmit<T>({ order: steps.order, sign, submit: steps.submit, onStep: setStep });
      router.refresh();
      return result;
    } catch (failure) {
      setError(failure instanceof ApiClientError ? failure.message : walletErrorText(failure));
      return undefined;
    } finally {
      setStep("idle");
      busy.current = false;
    }
  }

  return { step, error, run, sign };
}
