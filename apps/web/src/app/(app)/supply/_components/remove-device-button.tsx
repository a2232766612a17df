"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";

/** Removes a device after asking (its agent key stops working; it must join again with a new token). */
export function RemoveDeviceButton({ deviceId, name, disabled }: { deviceId: string; name: string; disabled: boolean }) {
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function remove() {
    setBusy(true);
    try {
      await api(`/api/v1/supply/devices/${deviceId}`, { method: "DELETE" });
      router.refresh();
    } catch (error) {
      setMessage(error instanceof ApiClientError ? error.message : "Could not remove the device; try again.");
    }
    setBusy(false);
    setConfirming(false);
  }
  if (disabled) return <small className="muted">leased</small>;
  return (
    <div>
      {confirming ? (
        <span role="group" aria-label={`Confirm removing ${name}`}>
          <ClientButton type="button" className="danger" disabled={busy} onClick={() => void remove()} data-testid="confirm-remove">{busy ? "Removing…" : "Remove"}</ClientButton>{" "}
          <ClientButton type="button" className="link-button" disabled={busy} onClick={() => setConfirming(false)}>Keep</ClientButton>
        </span>
      ) : (
        <ClientButton type="button" className="link-button" onClick={() => setConfirming(true)} aria-label={`Remove ${name}`} data-testid="remove-device">Remove…</ClientButton>
      )}
      {message ? <p role="alert" className="error-text">{message}</p> : null}
    </div>
  );
}
