"use client";

import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { api } from "@/lib/api-client.ts";

/** What each of the two actions says; pausing asks first because it costs the hour's reward. */
const ACTIONS = {
  pause: {
    label: "Pause…",
    verb: "pausing",
    question: "Pause it? It takes no new leases until you resume it; a lease it serves now runs to its end. It earns no token reward for this hour, or any hour it stays paused in.",
    confirm: "Pause",
    busyLabel: "Pausing…",
  },
  resume: { label: "Resume…", verb: "resuming", question: "Offer it to renters again now?", confirm: "Resume", busyLabel: "Resuming…" },
} as const;

/** Pause or resume the device (POST …/pause or …/resume); the page refreshes to show it. */
export function PauseActions({ deviceId, name, paused }: { deviceId: string; name: string; paused: boolean }) {
  const action = paused ? "resume" : "pause";
  const text = ACTIONS[action];
  return (
    <ConfirmAction
      key={action}
      label={text.label}
      name={`${text.confirm} ${name}`}
      groupLabel={`Confirm ${text.verb} ${name}`}
      question={text.question}
      confirm={text.confirm}
      busyLabel={text.busyLabel}
      request={() => api(`/api/v1/supply/devices/${deviceId}/${action}`, { method: "POST" })}
      failed={`Could not ${action} the device; try again.`}
      testId={`${action}-device`}
      confirmTestId={`confirm-${action}`}
    />
  );
}
