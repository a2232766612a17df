"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { useMounted } from "@/hooks/use-mounted.ts";

/** Revokes a key after asking: scripts using it get 401 INVALID_API_KEY from then on. */
export function RevokeApiKeyButton({ id, name }: { id: string; name: string }) {
  // Controls stay disabled until hydrated: a click before React takes over is lost, a form submits
  // natively, and text typed into a controlled input is reset to its initial state.
  const mounted = useMounted();
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function revoke() {
    setBusy(true);
    try {
      await api(`/api/v1/api-keys/${id}`, { method: "DELETE" });
      router.refresh();
    } catch (error) {
      setMessage(error instanceof ApiClientError ? error.message : "Could not revoke the key; try again.");
    }
    setBusy(false);
    setConfirming(false);
  }
  return (
    <div>
      {confirming ? (
        <span role="group" aria-label={`Confirm revoking ${name}`}>
          <button type="button" className="danger" disabled={busy} onClick={() => void revoke()} data-testid="confirm-revoke">{busy ? "Revoking…" : "Revoke"}</button>{" "}
          <button type="button" className="link-button" disabled={busy} onClick={() => setConfirming(false)}>Keep</button>
        </span>
      ) : (
        <button type="button" className="link-button" disabled={!mounted} onClick={() => setConfirming(true)} aria-label={`Revoke ${name}`} data-testid="revoke-api-key">Revoke…</button>
      )}
      {message ? <p role="alert" className="error-text">{message}</p> : null}
    </div>
  );
}
