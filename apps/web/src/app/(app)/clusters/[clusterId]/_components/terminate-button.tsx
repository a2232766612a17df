"use client";

import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { api } from "@/lib/api-client.ts";

/** Ends the lease now (asks first): served time is paid, the rest of the escrow refunded on-chain. */
export function TerminateButton({ clusterId }: { clusterId: string }) {
  return (
    <ConfirmAction
      label="Terminate"
      danger
      groupLabel="Confirm termination"
      question="End the cluster now? Its nodes stop; you pay for the time used and get the rest back."
      confirm="Yes, terminate"
      cancel="Keep it running"
      request={() => api(`/api/v1/clusters/${clusterId}/terminate`, { method: "POST" })}
      failed="Could not terminate; try again."
      done="Ending: the nodes are released and the unused deposit is refunded on-chain in a few seconds."
      testId="terminate"
      confirmTestId="confirm-terminate"
    />
  );
}
