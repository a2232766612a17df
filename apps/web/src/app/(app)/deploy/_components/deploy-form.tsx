"use client";

import { CLUSTER_TYPES, CONNECTIVITY_TIERS, freeFor, SUPPLIER_NETWORKS, type ConnectivityTier, type FreeSegment, type SegmentFilter, type SupplierNetwork } from "@gpumesh/core";
import { useEffect, useState } from "react";
import { WalletGate } from "@/components/wallet/wallet-gate.tsx";
import { ClientFieldset } from "@/components/ui/client-controls.tsx";
import { api, ApiClientError } from "@/lib/api-client.ts";
import { money } from "@/lib/format.ts";
import { commandArgv, EMPTY_WORKLOAD, machineWorkload, workloadBody, type WorkloadFields } from "@/lib/workload-form.ts";
import { QuoteCard, type Quote } from "./quote-card.tsx";

export interface Market {
  gpuModelId: string;
  region: string;
  onlineGpus: number;
  busyGpus: number;
  freeGpus: number;
  pricePerGpuHour: string | null;
  hyperscalerPricePerGpuHour: string | null;
  /** The free GPUs by connectivity, security, supplier network and runtime: every option is counted from these. */
  segments: FreeSegment<string>[];
}
interface ModelOption { id: string; name: string; vramGb: number; architecture: string }
interface RegionOption { id: string; name: string; continent: string }
type Token = "USDC" | "MESH";

const UNITS = { hours: 1, days: 24, weeks: 168 } as const;
const MAX_HOURS = 24 * 90;

const format = (units: string | null, token: Token) => (units === null ? "—" : money(units, token, 2));

/** The configure form: every option shows live availability and price; infeasible ones say why. */
export function DeployForm(props: { sessionWallet: string; initialMarkets: Market[]; models: ModelOption[]; regions: RegionOption[] }) {
  const [token, setToken] = useState<Token>("USDC");
  const [markets, setMarkets] = useState(props.initialMarkets);
  const [name, setName] = useState("my-cluster");
  const [type, setType] = useState<(typeof CLUSTER_TYPES)[number]["type"]>("RAY");
  const [modelIds, setModelIds] = useState<string[]>(["h100-80gb"]);
  const [regionIds, setRegionIds] = useState<string[]>([]);
  const [gpuCount, setGpuCount] = useState(8);
  const [tier, setTier] = useState<ConnectivityTier>("LOW");
  const [encrypted, setEncrypted] = useState(false);
  const [compliance, setCompliance] = useState(false);
  const [networks, setNetworks] = useState<SupplierNetwork[]>(SUPPLIER_NETWORKS.map((n) => n.network));
  const [duration, setDuration] = useState(2);
  const [unit, setUnit] = useState<keyof typeof UNITS>("hours");
  const [workloadFields, setWorkloadFields] = useState<WorkloadFields>(EMPTY_WORKLOAD);
  const [showNoneFree, setShowNoneFree] = useState(false);
  const [busy, setBusy] = useState(false);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [problem, setProblem] = useState<{ message: string; field?: string; alternatives?: string[] } | null>(null);

  // Prices follow the payment token; availability refreshes every 15 s while the form is open.
  useEffect(() => {
    let stop = false;
    const load = () =>
      api<{ markets: Market[] }>(`/api/v1/availability?token=${token}`)
        .then((result) => !stop && setMarkets(result.markets))
        .catch(() => undefined);
    void load();
    const timer = setInterval(load, 15_000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [token]);

  const hours = duration * UNITS[unit];
  // Ray and container clusters run an image (the renter's or the suppliers' default); a bare-metal node
  // runs the suppliers' machine image, which the renter reaches with their SSH key.
  const takesImage = type === "RAY" || type === "CONTAINER";
  const workload = takesImage ? workloadBody(workloadFields) : type === "BARE_METAL" ? machineWorkload(workloadFields.sshPublicKey) : { workload: undefined, problem: null };
  // Every count and price below applies all the other choices (as the matcher will): a cluster with an
  // image only goes to devices that run images, a tier means that tier or better, and so on.
  const withImage = workload.workload !== undefined;
  const filter: SegmentFilter = { connectivityTier: tier, encryptedTraffic: encrypted, complianceOnly: compliance, supplierNetworks: networks, needsImages: withImage };
  const command = workloadFields.command.trim() ? commandArgv(workloadFields.command) : null;

  /** Free GPUs and the cheapest price among the chosen (or all, when none is chosen) models and regions. */
  const offer = (scope: { models?: string[]; regions?: string[] } = {}, choices: Partial<SegmentFilter> = {}) => {
    const models = scope.models ?? modelIds;
    const regions = scope.regions ?? regionIds;
    let gpus = 0;
    let price: string | null = null;
    for (const m of markets) {
      if ((models.length && !models.includes(m.gpuModelId)) || (regions.length && !regions.includes(m.region))) continue;
      const found = freeFor(m.segments, { ...filter, ...choices });
      gpus += found.freeGpus;
      if (found.pricePerGpuHour !== null && (price === null || BigInt(found.pricePerGpuHour) < BigInt(price))) price = found.pricePerGpuHour;
    }
    return { gpus, price };
  };
  const freeForModel = (model: string) => offer({ models: [model] }).gpus;
  // Most of the catalogue has nothing free at a given moment: those models are listed on request.
  const modelCounts = props.models.map((model) => ({ model, count: freeForModel(model.id) }));
  const noneFree = modelCounts.filter(({ model, count }) => count === 0 && !modelIds.includes(model.id)).length;
  const freeForRegion = (region: string) => offer({ regions: [region] }).gpus;
  const freeSelected = regionIds.length ? offer().gpus : 0;
  const cheapest = (model: string) => offer({ models: [model] }).price;
  /** What an option would leave free, the rest of the form as it is: "24 free" or why none. */
  const optionHint = (gpus: number) => (gpus === 0 ? "none free with your other choices" : `${gpus} free with your other choices`);

  const shortage =
    !regionIds.length || !modelIds.length || freeSelected >= gpuCount
      ? null
      : {
          elsewhere: props.regions
            .filter((region) => !regionIds.includes(region.id))
            .map((region) => ({ region, gpus: freeForRegion(region.id) }))
            .filter((entry) => entry.gpus > 0)
            .sort((a, b) => b.gpus - a.gpus)
            .slice(0, 3),
        };

  const invalid =
    !name.trim() ? "Give the cluster a name." :
    !modelIds.length ? "Choose at least one GPU model." :
    !regionIds.length ? "Choose at least one region." :
    !networks.length ? "Choose at least one supplier network." :
    !Number.isInteger(gpuCount) || gpuCount < 1 ? "The GPU count must be a whole number, at least 1." :
    !Number.isInteger(duration) || duration < 1 ? "The duration must be a whole number, at least 1." :
    hours > MAX_HOURS ? "A lease lasts at most 90 days." :
    workload.problem;

  async function requestQuote() {
    setBusy(true);
    setProblem(null);
    setQuote(null);
    try {
      const body = { name: name.trim(), type, gpuModelIds: modelIds, gpuCount, regions: regionIds, connectivityTier: tier, encryptedTraffic: encrypted, complianceOnly: compliance, supplierNetworks: networks, durationHours: hours, paymentToken: token, ...(workload.workload ? { workload: workload.workload } : {}) };
      setQuote(await api<Quote>("/api/v1/quotes", { body }));
    } catch (error) {
      if (error instanceof ApiClientError) {
        const details = error.details as { otherRegions?: { gpuModelId: string; region: string; freeGpus: number }[]; otherModels?: { gpuModelId: string; region: string; freeGpus: number }[] } | undefined;
        const alternatives = [...(details?.otherRegions ?? []), ...(details?.otherModels ?? [])].slice(0, 4).map((a) => `${a.freeGpus} × ${props.models.find((m) => m.id === a.gpuModelId)?.name ?? a.gpuModelId} free in ${props.regions.find((r) => r.id === a.region)?.name ?? a.region}`);
        setProblem({ message: error.message, field: error.field, alternatives });
      } else setProblem({ message: "Something went wrong; try again." });
    } finally {
      setBusy(false);
    }
  }

  const toggle = <T extends string>(list: T[], id: T) => (list.includes(id) ? list.filter((entry) => entry !== id) : [...list, id]);

  return (
    <div className="deploy">
      <form className="panel" onSubmit={(event) => { event.preventDefault(); if (!invalid) void requestQuote(); }} aria-describedby="form-status">
        <ClientFieldset className="form" data-testid="deploy-fields">
        <legend className="visually-hidden">Cluster configuration</legend>
        <label className="field">
          <span>Name</span>
          <input value={name} maxLength={80} onChange={(event) => setName(event.target.value)} aria-describedby="name-hint" />
          <small id="name-hint">How the cluster appears in your list.</small>
        </label>

        <fieldset className="field">
          <legend>Cluster type</legend>
          {CLUSTER_TYPES.map((option) => (
            <label key={option.type} className={`choice ${option.offered ? "" : "unavailable"}`}>
              <input type="radio" name="type" value={option.type} checked={type === option.type} disabled={!option.offered} onChange={() => setType(option.type)} />
              <span><strong>{option.label}</strong> <small>{option.explanation}</small></span>
            </label>
          ))}
        </fieldset>

        {takesImage ? (
          <fieldset className="field workload" data-testid="workload-fields">
            <legend>What runs on each node</legend>
            <small>Leave the image empty to run the suppliers&apos; default {type === "RAY" ? "Ray image" : "service"}. PORT and GPUMESH_* are set for you.</small>
            <label className="field">
              <span>Container image</span>
              <input value={workloadFields.image} maxLength={255} placeholder={type === "RAY" ? "rayproject/ray:2.40.0-gpu" : "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"} spellCheck={false} autoCapitalize="off" onChange={(event) => setWorkloadFields({ ...workloadFields, image: event.target.value })} data-testid="workload-image" />
            </label>
            <label className="field">
              <span>Command <small>(optional; the image&apos;s own when empty)</small></span>
              <input value={workloadFields.command} placeholder="python train.py --epochs 3" spellCheck={false} autoCapitalize="off" onChange={(event) => setWorkloadFields({ ...workloadFields, command: event.target.value })} aria-describedby="command-hint" data-testid="workload-command" />
              <small id="command-hint" data-testid="command-preview">
                {command === null
                  ? "Quote arguments as in a shell. Pipes, &&, redirections, globs and $VARIABLES run it with sh -c."
                  : !command.ok
                    ? command.problem
                    : command.shell
                      ? "Runs with sh -c (it uses shell syntax), so the image needs /bin/sh."
                      : `Runs directly, no shell: ${command.argv.map((arg) => JSON.stringify(arg)).join(" ")}`}
              </small>
            </label>
            <label className="field">
              <span>Environment <small>(KEY=value, one per line)</small></span>
              <textarea rows={3} value={workloadFields.env} spellCheck={false} autoCapitalize="off" onChange={(event) => setWorkloadFields({ ...workloadFields, env: event.target.value })} aria-describedby="env-hint" />
              <small id="env-hint">The supplier&apos;s machine can read these, as any host can read its containers&apos; environment. After you submit, GPUMesh shows which variables are set, never their values.</small>
            </label>
            <label className="field">
              <span>Ports <small>(the first is PORT; 22 is shown as SSH)</small></span>
              <input value={workloadFields.ports} placeholder="8888, 22" inputMode="numeric" onChange={(event) => setWorkloadFields({ ...workloadFields, ports: event.target.value })} />
            </label>
            <label className="field">
              <span>SSH public key <small>(optional; in SSH_PUBLIC_KEY)</small></span>
              <textarea rows={2} value={workloadFields.sshPublicKey} placeholder="ssh-ed25519 AAAA… you@laptop" spellCheck={false} autoCapitalize="off" onChange={(event) => setWorkloadFields({ ...workloadFields, sshPublicKey: event.target.value })} />
            </label>
          </fieldset>
        ) : type === "BARE_METAL" ? (
          <fieldset className="field workload" data-testid="machine-fields">
            <legend>How you log in</legend>
            <label className="field">
              <span>SSH public key <small>(required)</small></span>
              <textarea rows={2} value={workloadFields.sshPublicKey} required placeholder="ssh-ed25519 AAAA… you@laptop" spellCheck={false} autoCapitalize="off" onChange={(event) => setWorkloadFields({ ...workloadFields, sshPublicKey: event.target.value })} aria-describedby="machine-hint" data-testid="machine-ssh-key" />
              <small id="machine-hint">The contents of your <code>~/.ssh/id_ed25519.pub</code> (or another public key). Each node gives <code>root</code> to this key only, no passwords; its address appears under Access once it runs. Its host key is new for every lease.</small>
            </label>
          </fieldset>
        ) : null}

        <fieldset className="field">
          <legend>GPU models (any of)</legend>
          {withImage ? <small data-testid="image-availability">{type === "BARE_METAL" ? "Counting only devices whose agents run container images: a machine runs as one, isolated from the supplier's host." : "Counting only devices whose agents run container images: your image cannot run on the others."}</small> : null}
          <div className="options" data-testid="model-options">
            {modelCounts.filter(({ model, count }) => count > 0 || showNoneFree || modelIds.includes(model.id)).map(({ model, count }) => {
              return (
                <label key={model.id} className={`choice ${count === 0 ? "unavailable" : ""}`}>
                  <input type="checkbox" checked={modelIds.includes(model.id)} disabled={count === 0 && !modelIds.includes(model.id)} onChange={() => setModelIds(toggle(modelIds, model.id))} />
                  <span>
                    <strong>{model.name}</strong> <small>{model.vramGb} GB · {model.architecture} · {count === 0 ? "none free right now" : `${count} free · from ${format(cheapest(model.id), token)}/GPU-h`}</small>
                  </span>
                </label>
              );
            })}
          </div>
          {noneFree > 0 ? (
            <button type="button" className="link-button" aria-expanded={showNoneFree} onClick={() => setShowNoneFree(!showNoneFree)} data-testid="toggle-none-free">
              {showNoneFree ? `Hide the ${noneFree} models with none free` : `Show the ${noneFree} models with none free right now`}
            </button>
          ) : null}
        </fieldset>

        <label className="field">
          <span>GPUs</span>
          <input type="number" min={1} max={1024} step={1} value={Number.isNaN(gpuCount) ? "" : gpuCount} onChange={(event) => setGpuCount(event.target.valueAsNumber)} aria-describedby="count-hint" />
          <small id="count-hint">Whole machines are leased; GPUMesh picks the fewest nodes that add up to this many GPUs.</small>
        </label>

        <fieldset className="field">
          <legend>Regions</legend>
          <div className="options" data-testid="region-options">
            {props.regions.map((region) => {
              const count = freeForRegion(region.id);
              return (
                <label key={region.id} className={`choice ${count === 0 ? "unavailable" : ""}`}>
                  <input type="checkbox" checked={regionIds.includes(region.id)} disabled={count === 0 && !regionIds.includes(region.id)} onChange={() => setRegionIds(toggle(regionIds, region.id))} />
                  <span><strong>{region.name}</strong> <small>{count === 0 ? "no matching GPU free" : `${count} matching GPUs free`}</small></span>
                </label>
              );
            })}
          </div>
        </fieldset>
        {shortage ? (
          <p className="warning" role="status" data-testid="shortage">
            Only {freeSelected} matching GPUs are free in the chosen regions.{" "}
            {shortage.elsewhere.length ? `Also free: ${shortage.elsewhere.map((entry) => `${entry.gpus} in ${entry.region.name}`).join("; ")}.` : "No other region has them free right now."}
          </p>
        ) : null}

        <fieldset className="field" data-testid="tier-options">
          <legend>Connectivity</legend>
          {CONNECTIVITY_TIERS.map((option) => {
            const gpus = offer({}, { connectivityTier: option.tier }).gpus;
            return (
              <label key={option.tier} className={`choice ${gpus === 0 ? "unavailable" : ""}`}>
                <input type="radio" name="tier" checked={tier === option.tier} disabled={gpus === 0 && tier !== option.tier} onChange={() => setTier(option.tier)} />
                <span><strong>{option.label}</strong> <small>{option.explanation} {optionHint(gpus)}.</small></span>
              </label>
            );
          })}
        </fieldset>

        <fieldset className="field" data-testid="security-options">
          <legend>Security</legend>
          {[
            { id: "encrypted", label: "End-to-end encrypted traffic", hint: "Only devices whose agent supports encrypted tunnels between nodes.", checked: encrypted, toggle: () => setEncrypted(!encrypted), gpus: offer({}, { encryptedTraffic: true }).gpus },
            { id: "compliance", label: "Compliance-grade suppliers only", hint: "Data-centre suppliers with a verified compliance tier.", checked: compliance, toggle: () => setCompliance(!compliance), gpus: offer({}, { complianceOnly: true }).gpus },
          ].map((option) => (
            <label key={option.id} className={`choice ${option.gpus === 0 ? "unavailable" : ""}`}>
              <input type="checkbox" checked={option.checked} disabled={option.gpus === 0 && !option.checked} onChange={option.toggle} />
              <span><strong>{option.label}</strong> <small>{option.hint} {optionHint(option.gpus)}.</small></span>
            </label>
          ))}
        </fieldset>

        <fieldset className="field" data-testid="network-options">
          <legend>Supplier networks (any of)</legend>
          {SUPPLIER_NETWORKS.map((option) => {
            const gpus = offer({}, { supplierNetworks: [option.network] }).gpus;
            return (
              <label key={option.network} className={`choice ${gpus === 0 ? "unavailable" : ""}`}>
                <input type="checkbox" checked={networks.includes(option.network)} disabled={gpus === 0 && !networks.includes(option.network)} onChange={() => setNetworks(toggle(networks, option.network))} />
                <span><strong>{option.name}</strong> <small>{option.explanation} {optionHint(gpus)}.</small></span>
              </label>
            );
          })}
        </fieldset>

        <div className="field inline">
          <label>
            <span>Duration</span>
            <input type="number" min={1} step={1} value={Number.isNaN(duration) ? "" : duration} onChange={(event) => setDuration(event.target.valueAsNumber)} />
          </label>
          <label>
            <span className="visually-hidden">Unit</span>
            <select value={unit} onChange={(event) => setUnit(event.target.value as keyof typeof UNITS)} aria-label="Duration unit">
              <option value="hours">hours</option>
              <option value="days">days</option>
              <option value="weeks">weeks</option>
            </select>
          </label>
          <small>You can extend at the same price while it runs, or end early for a refund of the unused time.</small>
        </div>

        <fieldset className="field">
          <legend>Pay with</legend>
          {(["USDC", "MESH"] as const).map((option) => (
            <label key={option} className="choice">
              <input type="radio" name="token" checked={token === option} onChange={() => setToken(option)} />
              <span><strong>{option}</strong> <small>{option === "USDC" ? "Stablecoin; the protocol fee goes to the treasury." : "GPUMesh's token; half of the protocol fee is burned."}</small></span>
            </label>
          ))}
        </fieldset>

        <p id="form-status" data-testid="form-status" className={invalid ? "muted" : "sr-only"}>{invalid ?? "Ready for a quote."}</p>
        <button type="submit" className="primary" disabled={busy || invalid !== null} data-testid="get-quote">
          {busy ? "Finding devices…" : "Get a quote"}
        </button>
        {problem ? (
          <div role="alert" className="error-text" data-testid="quote-error">
            <p>{problem.message}</p>
            {problem.alternatives?.length ? <ul>{problem.alternatives.map((text) => <li key={text}>{text}</li>)}</ul> : null}
          </div>
        ) : null}
        </ClientFieldset>
      </form>
      <aside>
        {quote ? (
          <WalletGate>
            <QuoteCard quote={quote} sessionWallet={props.sessionWallet} models={props.models} regions={props.regions} onExpired={() => setQuote(null)} />
          </WalletGate>
        ) : (
          <div className="panel empty">
            <h2>Your quote appears here</h2>
            <p>It shows the price per GPU-hour, every fee, what a hyperscaler charges for the same GPUs, and holds the devices for a few minutes while you pay.</p>
          </div>
        )}
      </aside>
    </div>
  );
}
