"use client";

import { ConfirmAction } from "@/components/ui/confirm-action.tsx";
import { api } from "@/lib/api-client.ts";

/** Revokes a key after asking: scripts using it get 401 INVALID_API_KEY from then on. */
export function RevokeApiKeyButton({ id, name }: { id: string; name: string }) {
  return (
    <ConfirmAction
      label="Revoke…"
      name={`Revoke ${name}`}
      groupLabel={`Confirm revoking ${name}`}
      confirm="Revoke"
      busyLabel="Revoking…"
      request={() => api(`/api/v1/api-keys/${id}`, { method: "DELETE" })}
      failed="Could not revoke the key; try again."
      testId="revoke-api-key"
      confirmTestId="confirm-revoke"
    />
  );
}
