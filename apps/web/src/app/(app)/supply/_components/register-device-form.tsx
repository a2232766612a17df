"use client";

import { SUPPLIER_NETWORKS } from "@gpumesh/core";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ClientButton, ClientFieldset } from "@/components/ui/client-controls.tsx";
import { useMounted } from "@/hooks/use-mounted.ts";
import { api, ApiClientError } from "@/lib/api-client.ts";

interface Registered {
  token: string;
  expiresAt: string;
  commands: { join: string; start: string };
}

const NETWORKS = SUPPLIER_NETWORKS.map((n) => ({ id: n.network, name: n.name }));

/** The region whose name best matches the browser's time zone (editable; a guess, not a measurement). */
function guessRegion(regions: { id: string }[]): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  const byZone: [RegExp, string][] = [
    [/^America\/(New_York|Toronto|Detroit|Montreal)/, "us-east"],
    [/^America\/(Chicago|Denver|Winnipeg)/, "us-central"],
    [/^America\/(Los_Angeles|Vancouver|Phoenix)/, "us-west"],
    [/^America\/(Sao_Paulo|Argentina)/, "sa-east"],
    [/^Europe\/(London|Paris|Amsterdam|Brussels|Dublin|Lisbon|Madrid)/, "eu-west"],
    [/^Europe\/(Berlin|Warsaw|Prague|Vienna|Zurich|Rome|Budapest)/, "eu-central"],
    [/^Europe\/(Stockholm|Helsinki|Oslo|Copenhagen)/, "eu-north"],
    [/^Asia\/(Tokyo|Seoul)/, "ap-northeast"],
    [/^Asia\/(Singapore|Ho_Chi_Minh|Bangkok|Jakarta|Kuala_Lumpur)/, "ap-southeast"],
    [/^Asia\/(Kolkata|Calcutta)/, "ap-south"],
    [/^Australia\//, "au-east"],
    [/^Africa\//, "af-south"],
  ];
  const found = byZone.find(([pattern]) => pattern.test(zone))?.[1];
  return found && regions.some((region) => region.id === found) ? found : (regions[0]?.id ?? "");
}

export function RegisterDeviceForm({ regions }: { regions: { id: string; name: string }[] }) {
  const mounted = useMounted();
  const router = useRouter();
  const [name, setName] = useState("");
  const [region, setRegion] = useState<string | null>(null);
  const [network, setNetwork] = useState("GPUMESH");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const [registered, setRegistered] = useState<Registered | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const chosenRegion = region ?? (mounted ? guessRegion(regions) : regions[0]?.id ?? "");

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      setRegistered(await api<Registered>("/api/v1/supply/devices", { body: { name, region: chosenRegion, network } }));
      setName("");
      router.refresh();
    } catch (caught) {
      setError(caught instanceof ApiClientError ? { message: caught.message, ...(caught.field ? { field: caught.field } : {}) } : { message: "Could not register the device; try again." });
    } finally {
      setBusy(false);
    }
  }

  async function copy(text: string, which: string) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(which);
    } catch {
      setCopied(null);
    }
  }

  return (
    <section className="panel" aria-labelledby="register-heading">
      <h2 id="register-heading">Register a device</h2>
      <form className="form" onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <ClientFieldset className="form" disabled={busy} data-testid="register-fields">
          <legend className="visually-hidden">Device</legend>
          <label className="field">
            <span>Name</span>
            <input name="name" value={name} maxLength={80} required onChange={(event) => setName(event.target.value)} aria-invalid={error?.field === "name"} aria-describedby="device-name-hint" />
            <small id="device-name-hint">How the device appears in your list and in the explorer.</small>
          </label>
          <label className="field">
            <span>Region</span>
            <select name="region" value={chosenRegion} onChange={(event) => setRegion(event.target.value)} aria-invalid={error?.field === "region"} aria-describedby="device-region-hint">
              {regions.map((option) => (
                <option key={option.id} value={option.id}>{option.name}</option>
              ))}
            </select>
            <small id="device-region-hint">Guessed from your time zone; pick where the machine is.</small>
          </label>
          <label className="field">
            <span>Supplier network</span>
            <select name="network" value={network} onChange={(event) => setNetwork(event.target.value)}>
              {NETWORKS.map((option) => (
                <option key={option.id} value={option.id}>{option.name}</option>
              ))}
            </select>
          </label>
          <div>
            <button type="submit" className="primary" data-testid="register-device">{busy ? "Creating a join token…" : "Get a join token"}</button>
          </div>
        </ClientFieldset>
      </form>
      {error ? <p role="alert" className="error-text" data-testid="register-error">{error.message}</p> : null}
      {registered ? (
        <div className="join-steps" data-testid="join-steps" role="status">
          <p>On the machine, from a GPUMesh checkout (Node 20, <code>pnpm install</code> done), run:</p>
          <ol>
            <li>
              <pre><code data-testid="join-command">{registered.commands.join}</code></pre>
              <ClientButton type="button" className="link-button" onClick={() => void copy(registered.commands.join, "join")}>{copied === "join" ? "Copied" : "Copy"}</ClientButton>
            </li>
            <li>
              <pre><code>{registered.commands.start}</code></pre>
            </li>
          </ol>
          <p className="muted">The token works once and expires at {registered.expiresAt.replace("T", " ").slice(0, 16)} UTC. It is shown only now. The device appears below when the agent joins, and is rentable once it passes its first proof of work.</p>
        </div>
      ) : null}
    </section>
  );
}
