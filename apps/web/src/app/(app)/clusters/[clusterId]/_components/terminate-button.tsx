"use client";

import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";

/** Ends the lease now (asks first): served time is paid, the rest of the escrow refunded on-chain. */
export function TerminateButton({ clusterId }: { clusterId: string }) {
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
          <ClientButton type="button" className="danger" disabled={busy} onClick={() => void terminate()} data-testid="confirm-terminate">Yes, terminate</ClientButton>{" "}
          <ClientButton type="button" className="link-button" onClick={() => setConfirming(false)}>Keep it running</ClientButton>
        </div>
      ) : (
        <ClientButton type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)} data-testid="terminate">Terminate</ClientButton>
      )}
      {message ? <p role="status" data-testid="terminate-status">{message}</p> : null}
    </div>
  );
}
