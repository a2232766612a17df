"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";

/** Revokes a key after asking: scripts using it get 401 INVALID_API_KEY from then on. */
export function RevokeApiKeyButton({ id, name }: { id: string; name: string }) {
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
          <ClientButton type="button" className="danger" disabled={busy} onClick={() => void revoke()} data-testid="confirm-revoke">{busy ? "Revoking…" : "Revoke"}</ClientButton>{" "}
          <ClientButton type="button" className="link-button" disabled={busy} onClick={() => setConfirming(false)}>Keep</ClientButton>
        </span>
      ) : (
        <ClientButton type="button" className="link-button" onClick={() => setConfirming(true)} aria-label={`Revoke ${name}`} data-testid="revoke-api-key">Revoke…</ClientButton>
      )}
      {message ? <p role="alert" className="error-text">{message}</p> : null}
    </div>
  );
}
