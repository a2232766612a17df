"use client";

import { useEffect, useRef, useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useSigner, walletErrorText } from "@/hooks/use-signer.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { signAndSubmit } from "@/lib/signed-order.ts";
import { money } from "@/lib/format.ts";

export interface Quote {
  clusterId: string;
  expiresAt: string;
  devices: { deviceId: string; gpuModelId: string; region: string; gpuCount: number }[];
  breakdown: {
    token: "USDC" | "MESH";
    gpuCount: number;
    durationHours: number;
    gpuHours: string;
    pricePerGpuHour: string;
    pricePerSecond: string;
    total: string;
    feeBps: string;
    burnBps: string;
    fee: string;
    burn: string;
    treasury: string;
    suppliers: string;
    hyperscaler: { pricePerGpuHour: string; total: string; saving: string; savingBps: string } | null;
  };
}

type Step = "idle" | "building" | "signing" | "confirming" | "paid";
const STEP_TEXT: Record<Step, string> = {
  idle: "",
  building: "Preparing the payment transaction…",
  signing: "Approve the payment in your wallet…",
  confirming: "Confirming on-chain…",
  paid: "Paid. Opening your cluster…",
};

const amount = (units: string, token: string, digits = 2) => money(units, token, digits);

function useCountdown(until: string) {
  const [left, setLeft] = useState(() => Math.max(0, Math.floor((Date.parse(until) - Date.now()) / 1000)));
  useEffect(() => {
    const timer = setInterval(() => setLeft(Math.max(0, Math.floor((Date.parse(until) - Date.now()) / 1000))), 1000);
    return () => clearInterval(timer);
  }, [until]);
  return left;
}

/** The held quote: breakdown, hyperscaler comparison, the hold's countdown, and Pay. */
export function QuoteCard(props: { quote: Quote; sessionWallet: string; models: { id: string; name: string }[]; regions: { id: string; name: string }[]; onExpired: () => void }) {
  const { quote } = props;
  const b = quote.breakdown;
  const left = useCountdown(quote.expiresAt);
  const { sign } = useSigner(props.sessionWallet);
  const [step, setStep] = useState<Step>("idle");
  const [error, setError] = useState<string | null>(null);
  const paying = useRef(false);

  async function pay() {
    if (paying.current) return; // a double click pays once
    paying.current = true;
    setError(null);
    try {
      await signAndSubmit({
        order: () => api<{ transaction: string }>(`/api/v1/quotes/${quote.clusterId}/transaction`, { method: "POST" }),
        sign,
        submit: (signed) => api(`/api/v1/quotes/${quote.clusterId}/payment`, { body: { transaction: signed } }),
        onStep: setStep,
      });
      setStep("paid");
      window.location.assign(`/clusters/${quote.clusterId}`);
    } catch (failure) {
      setStep("idle");
      paying.current = false;
      setError(failure instanceof ApiClientError ? failure.message : walletErrorText(failure));
    }
  }

  const nodes = new Map<string, number>();
  for (const device of quote.devices) {
    const key = `${props.models.find((m) => m.id === device.gpuModelId)?.name ?? device.gpuModelId} · ${props.regions.find((r) => r.id === device.region)?.name ?? device.region}`;
    nodes.set(key, (nodes.get(key) ?? 0) + device.gpuCount);
  }
  const expired = left === 0;

  return (
    <section className="panel quote" aria-labelledby="quote-title" data-testid="quote">
      <h2 id="quote-title">Quote</h2>
      <p className="quote-total" data-testid="quote-total">{amount(b.total, b.token)}</p>
      <p className="muted">
        {b.gpuCount} GPUs × {b.durationHours} h = {b.gpuHours} GPU-hours at {amount(b.pricePerGpuHour, b.token, 4)} per GPU-hour
      </p>
      <table className="breakdown">
        <tbody>
          <tr><th scope="row">Suppliers receive</th><td className="num">{amount(b.suppliers, b.token)}</td></tr>
          <tr><th scope="row">Protocol fee ({Number(b.feeBps) / 100}%)</th><td className="num">{amount(b.fee, b.token)}</td></tr>
          {b.token === "MESH" ? <tr><th scope="row">of which burned ({Number(b.burnBps) / 100}% of the fee)</th><td className="num">{amount(b.burn, b.token)}</td></tr> : null}
          <tr><th scope="row">Total, held in escrow</th><td className="num"><strong>{amount(b.total, b.token)}</strong></td></tr>
        </tbody>
      </table>
      {b.hyperscaler ? (
        <p className="saving" data-testid="hyperscaler">
          A hyperscaler lists these GPUs at {amount(b.hyperscaler.pricePerGpuHour, b.token)} per GPU-hour ({amount(b.hyperscaler.total, b.token)} in all):
          you save {amount(b.hyperscaler.saving, b.token)} ({(Number(b.hyperscaler.savingBps) / 100).toFixed(0)}%).
        </p>
      ) : (
        <p className="muted">No hyperscaler rents this model, so there is no list price to compare.</p>
      )}
      <h3>Nodes held for you</h3>
      <ul className="nodes">{[...nodes].map(([key, gpus]) => <li key={key}>{gpus} GPUs · {key}</li>)}</ul>
      <p className="muted">You pay only for the time the cluster serves: whatever is unused when it ends or if it fails to deploy is refunded from escrow, on-chain.</p>
      {expired ? (
        <div role="alert">
          <p className="error-text">The hold on these devices expired; prices and availability may have changed.</p>
          <ClientButton type="button" className="primary" onClick={props.onExpired}>Get a new quote</ClientButton>
        </div>
      ) : (
        <>
          <p className="muted" data-testid="hold">Devices held for {Math.floor(left / 60)}:{String(left % 60).padStart(2, "0")}</p>
          <ClientButton type="button" className="primary" onClick={() => void pay()} disabled={step !== "idle"} data-testid="pay">
            {step === "idle" ? `Pay ${amount(b.total, b.token)}` : "Paying…"}
          </ClientButton>
        </>
      )}
      <p role="status" aria-live="polite" className="muted" data-testid="pay-status">{STEP_TEXT[step]}</p>
      {error ? <p role="alert" className="error-text" data-testid="pay-error">{error}</p> : null}
    </section>
  );
}
