"use client";

import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { api } from "@/lib/api-client.ts";

/** Removes a device after asking (its agent key stops working; it must join again with a new token). */
export function RemoveDeviceButton({ deviceId, name, disabled }: { deviceId: string; name: string; disabled: boolean }) {
  if (disabled) return <small className="muted">leased</small>;
  return (
    <ConfirmAction
      label="Remove…"
      name={`Remove ${name}`}
      groupLabel={`Confirm removing ${name}`}
      confirm="Remove"
      busyLabel="Removing…"
      request={() => api(`/api/v1/supply/devices/${deviceId}`, { method: "DELETE" })}
      failed="Could not remove the device; try again."
      testId="remove-device"
      confirmTestId="confirm-remove"
    />
  );
}
