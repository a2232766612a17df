"use client";

import { useRef, useState } from "react";
import { ClientButton, ClientInput } from "@/components/ui/client-controls.tsx";
import { useSigner, walletErrorText } from "@/hooks/use-signer.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { money } from "@/lib/format.ts";
import { signAndSubmit } from "@/lib/signed-order.ts";

/** Top-up at the same price: the wallet signs extend_lease, the end moves by exactly that many hours. */
export function ExtendForm(props: { clusterId: string; token: string; pricePerSecond: string; sessionWallet: string }) {
  const [hours, setHours] = useState(1);
  const [step, setStep] = useState<"idle" | "signing" | "confirming">("idle");
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const { sign } = useSigner(props.sessionWallet);
  const busy = useRef(false);
  const valid = Number.isInteger(hours) && hours >= 1 && hours <= 720;
  const cost = valid ? (BigInt(props.pricePerSecond) * BigInt(hours) * 3600n).toString() : null;

  async function extend() {
    if (busy.current || !valid) return;
    busy.current = true;
    setMessage(null);
    try {
      const result = (await signAndSubmit({
        order: () => api<{ transaction: string }>(`/api/v1/clusters/${props.clusterId}/extension/transaction`, { body: { hours } }),
        sign,
        submit: (signed) => api<{ endsAt: string | null; extended: boolean }>(`/api/v1/clusters/${props.clusterId}/extension`, { body: { hours, transaction: signed } }),
        // Building and signing show as one step here.
        onStep: (next) => setStep(next === "confirming" ? "confirming" : "signing"),
      }))!;
      setMessage(result.extended ? { text: `Extended: the lease now ends ${result.endsAt ? new Date(result.endsAt).toLocaleString("en-GB") : ""}.`, error: false } : { text: "The top-up landed but the lease could not be extended (a node was booked meanwhile); it is refunded when the lease ends.", error: true });
    } catch (error) {
      setMessage({ text: error instanceof ApiClientError ? error.message : walletErrorText(error), error: true });
    } finally {
      setStep("idle");
      busy.current = false;
    }
  }

  return (
    <form className="extend" onSubmit={(event) => { event.preventDefault(); void extend(); }}>
      <label>
        <span>Extend by (hours)</span>
        <ClientInput type="number" min={1} max={720} step={1} value={Number.isNaN(hours) ? "" : hours} onChange={(event) => setHours(event.target.valueAsNumber)} data-testid="extend-hours" />
      </label>
      <ClientButton type="submit" className="primary" disabled={!valid || step !== "idle"} data-testid="extend">
        {step === "idle" ? `Extend for ${cost ? money(cost, props.token) : "…"}` : step === "signing" ? "Approve in your wallet…" : "Confirming…"}
      </ClientButton>
      {!valid ? <small className="error-text">Whole hours, 1 to 720.</small> : null}
      {message ? <p role={message.error ? "alert" : "status"} className={message.error ? "error-text" : ""} data-testid="extend-status">{message.text}</p> : null}
    </form>
  );
}
