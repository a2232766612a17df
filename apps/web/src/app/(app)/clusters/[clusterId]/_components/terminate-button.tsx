"use client";

import { useState } from "react";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { useMounted } from "@/hooks/use-mounted.ts";

/** Ends the lease now (asks first): served time is paid, the rest of the escrow refunded on-chain. */
export function TerminateButton({ clusterId }: { clusterId: string }) {
  // Controls stay disabled until hydrated: a click before React takes over is lost, a form submits
  // natively, and text typed into a controlled input is reset to its initial state.
  const mounted = useMounted();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  async function terminate() {
    setBusy(true);
    try {
      await api(`/api/v1/clusters/${clusterId}/terminate`, { method: "POST" });
      setMessage("Ending: the nodes are released and the unused deposit is refunded on-chain in a few seconds.");
    } catch (error) {
      setMessage(error instanceof ApiClientError ? error.message : "Could not terminate; try again.");
      setBusy(false);
    }
    setConfirming(false);
  }
  return (
    <div className="terminate">
      {confirming ? (
        <div role="group" aria-label="Confirm termination">
          <p>End the cluster now? Its nodes stop; you pay for the time used and get the rest back.</p>
          <button type="button" className="danger" disabled={busy} onClick={() => void terminate()} data-testid="confirm-terminate">Yes, terminate</button>{" "}
          <button type="button" className="link-button" onClick={() => setConfirming(false)}>Keep it running</button>
        </div>
      ) : (
        <button type="button" className="danger" disabled={busy || !mounted} onClick={() => setConfirming(true)} data-testid="terminate">Terminate</button>
      )}
      {message ? <p role="status" data-testid="terminate-status">{message}</p> : null}
    </div>
  );
}
