"use client";

import { useState } from "react";
import { useMounted } from "@/hooks/use-mounted.ts";

/** Revokes the session server-side, then reloads on the explorer (no wallet code needed). */
export function SignOutButton() {
  // Controls stay disabled until hydrated: a click before React takes over is lost, a form submits
  // natively, and text typed into a controlled input is reset to its initial state.
  const mounted = useMounted();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="link-button"
      disabled={busy || !mounted}
      onClick={async () => {
        setBusy(true);
        await fetch("/api/auth/sign-out", { method: "POST" }).catch(() => undefined);
        window.location.assign("/");
      }}
    >
      Sign out
    </button>
  );
}
