"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { ClientButton, ClientInput } from "@/components/ui/client-controls.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";

/** Names and creates a key, then shows it once with a copy button. */
export function CreateApiKeyForm() {
  const router = useRouter();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const key = await api<{ name: string; key: string }>("/api/v1/api-keys", { method: "POST", body: { name } });
      setCreated({ name: key.name, key: key.key });
      setCopied(false);
      setName("");
      router.refresh();
    } catch (failure) {
      setError(failure instanceof ApiClientError ? failure.message : "Could not create the key; try again.");
    }
    setBusy(false);
  }

  return (
    <>
      <form className="extend" onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor="api-key-name">Name</label>
          <ClientInput id="api-key-name" value={name} onChange={(event) => setName(event.target.value)} maxLength={80} required placeholder="nightly training job" aria-describedby={error ? "api-key-error" : undefined} />
        </div>
        <ClientButton type="submit" className="primary" disabled={busy} data-testid="create-api-key">{busy ? "Creating…" : "Create key"}</ClientButton>
      </form>
      {error ? <p id="api-key-error" role="alert" className="error-text">{error}</p> : null}
      {created ? (
        <div role="status" className="claim" data-testid="new-api-key">
          <p>Your key <strong>{created.name}</strong>, shown this once: copy it now.</p>
          <code className="signature" data-testid="new-api-key-value">{created.key}</code>
          <ClientButton
            type="button"
            className="link-button"
            onClick={() => void navigator.clipboard?.writeText(created.key).then(() => setCopied(true), () => setCopied(false))}
          >
            {copied ? "Copied" : "Copy"}
          </ClientButton>
        </div>
      ) : null}
    </>
  );
}
