"use client";

import { useState } from "react";
import { ClientButton } from "@/components/ui/client-controls.tsx";

/** Revokes the session server-side, then reloads on the explorer (no wallet code needed). */
export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <ClientButton
      type="button"
      className="link-button"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        await fetch("/api/auth/sign-out", { method: "POST" }).catch(() => undefined);
        window.location.assign("/");
      }}
    >
      Sign out
    </ClientButton>
  );
}
