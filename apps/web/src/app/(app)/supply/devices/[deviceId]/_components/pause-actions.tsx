"use client";

import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { api } from "@/lib/api-client.ts";

/** Pause (asks first: it costs the hour's reward) or resume the device; the page refreshes to show it. */
export function PauseActions({ deviceId, name, paused }: { deviceId: string; name: string; paused: boolean }) {
  if (paused) {
    return (
      <ConfirmAction
        label="Resume…"
        name={`Resume ${name}`}
        groupLabel={`Confirm resuming ${name}`}
        question="Offer it to renters again now?"
        confirm="Resume"
        busyLabel="Resuming…"
        request={() => api(`/api/v1/supply/devices/${deviceId}/resume`, { method: "POST" })}
        failed="Could not resume the device; try again."
        testId="resume-device"
        confirmTestId="confirm-resume"
      />
    );
  }
  return (
    <ConfirmAction
      label="Pause…"
      name={`Pause ${name}`}
      groupLabel={`Confirm pausing ${name}`}
      question="Pause it? It takes no new leases until you resume it; a lease it serves now runs to its end. It earns no token reward for this hour, or any hour it stays paused in."
      confirm="Pause"
      busyLabel="Pausing…"
      request={() => api(`/api/v1/supply/devices/${deviceId}/pause`, { method: "POST" })}
      failed="Could not pause the device; try again."
      testId="pause-device"
      confirmTestId="confirm-pause"
    />
  );
}
