"use client";

import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { useSignedOrder } from "@/hooks/use-signed-order.ts";
import { api } from "@/lib/api-client.ts";
import { money, utcTime } from "@/lib/format.ts";
import { signAndSubmit, type SigningStep } from "@/lib/signed-order.ts";

type Step = "idle" | SigningStep;
const STAKE_LABEL: Record<Step, string> = { idle: "Stake", building: "Preparing the transaction…", signing: "Signing… approve it in your wallet", confirming: "Confirming on-chain…" };

export interface StakeState {
  required: string;
  /** null when the chain could not be read. */
  staked: string | null;
  /** While unstaking: when the stake can be withdrawn (ISO). */
  withdrawableAt: string | null;
  weightBps: number;
}

interface StakeResult {
  txSignature: string;
  staked: string;
  withdrawableAt: string | null;
}

/**
 * The device's stake actions: Stake (the scheduler co-signs stake_device for the device's weight, the
 * wallet signs, the server checks and submits), Request unstake and Withdraw (wallet-only, each asked
 * to confirm first). Each button is enabled only when its action can succeed now, and only once
 * hydrated; the page is refreshed afterwards to read the stake back from the chain.
 */
export function StakeActions({ sessionWallet, deviceId, stake }: { sessionWallet: string; deviceId: string; stake: StakeState }) {
  const [done, setDone] = useState<StakeResult | null>(null);
  const base = `/api/v1/supply/devices/${deviceId}`;
  /** The server side of one action (`kind`: stake, unstake or withdraw): its order and its submission. */
  const endpoints = (kind: "stake" | "unstake" | "withdraw") => ({
    order: () => api<{ transaction: string }>(`${base}/${kind}/transaction`, { method: "POST" }),
    submit: (signed: string) => api<StakeResult>(`${base}/${kind}`, { body: { transaction: signed } }),
  });
  const { step, error, run, sign } = useSignedOrder<StakeResult>(sessionWallet, endpoints("stake"));
  /** Unstake and withdraw: ConfirmAction shows their progress and errors. */
  const flow = (kind: "unstake" | "withdraw") => signAndSubmit<StakeResult>({ ...endpoints(kind), sign });

  const required = BigInt(stake.required);
  const staked = stake.staked === null ? null : BigInt(stake.staked);
  const unstaking = stake.withdrawableAt !== null;
  const withdrawable = unstaking && new Date(stake.withdrawableAt!).getTime() <= Date.now();
  const canStake = staked !== null && required > 0n && !unstaking && staked < required;
  const canUnstake = staked !== null && staked > 0n && !unstaking;

  async function stakeNow() {
    const result = await run();
    if (result) setDone(result);
  }

  const shortfall = staked !== null && staked < required ? required - staked : required;
  return (
    <div className="stake-actions">
      {canStake || step !== "idle" ? (
        <p>
          <ClientButton type="button" className="primary" onClick={() => void stakeNow()} disabled={step !== "idle" || !canStake} data-testid="stake-button">
            {step === "idle" ? `${STAKE_LABEL.idle} ${money(shortfall, "MESH", 0)}` : STAKE_LABEL[step]}
          </ClientButton>
        </p>
      ) : null}
      {canUnstake ? (
        <ConfirmAction
          label="Request unstake"
          groupLabel="Request the unstake"
          question="The device stops earning rewards at once; the stake can be withdrawn 7 days later (and can still be slashed until then)."
          confirm="Request unstake"
          busyLabel="Signing and confirming…"
          request={() => flow("unstake")}
          failed="The unstake request failed; nothing changed."
          testId="unstake-button"
          confirmTestId="unstake-confirm"
        />
      ) : null}
      {unstaking ? (
        withdrawable ? (
          <ConfirmAction
            label="Withdraw"
            groupLabel="Withdraw the stake"
            question="What is left of the stake returns to your wallet and the device earns nothing until staked again."
            confirm="Withdraw"
            busyLabel="Signing and confirming…"
            request={() => flow("withdraw")}
            failed="The withdrawal failed; nothing was moved."
            testId="withdraw-button"
            confirmTestId="withdraw-confirm"
          />
        ) : (
          <p>
            <ClientButton type="button" disabled data-testid="withdraw-button">Withdraw (after {utcTime(new Date(stake.withdrawableAt!))})</ClientButton>
          </p>
        )
      ) : null}
      <p role="status" aria-live="polite" data-testid="stake-result">
        {done ? (
          <>
            Staked: the device’s stake now holds <strong>{money(done.staked, "MESH", 0)}</strong>. Transaction <a href={`/tx/${done.txSignature}`}><code className="signature">{done.txSignature}</code></a>
          </>
        ) : null}
      </p>
      {error ? <p role="alert" className="error-text" data-testid="stake-error">{error}</p> : null}
    </div>
  );
}
