"use client";

import { useEffect, useState } from "react";
import { WalletGate } from "@/components/wallet/wallet-gate.tsx";
import { money } from "@/lib/format.ts";
import { sshCommand } from "@/lib/ssh.ts";
import { ExtendForm } from "./extend-form.tsx";
import { TerminateButton } from "./terminate-button.tsx";
import { UsageChart } from "./usage-chart.tsx";

/** The cluster as GET /api/v1/clusters/[id] and its event stream send it (bigints as strings). */
export interface ClusterState {
  id: string;
  name: string;
  type: string;
  status: string;
  gpuCount: number;
  gpuModelIds: string[];
  regions: string[];
  durationHours: number;
  paymentToken: "USDC" | "MESH";
  pricePerSecond: string;
  depositAmount: string;
  createdAt: string;
  startedAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  endRequestedAt: string | null;
  secondsLeft: number | null;
  costSoFar: string;
  settled: string;
  nodes: { allocationId: string; deviceName: string; gpuModel: string | null; gpuCount: number; region: string; city: string; supplier: string; state: string; releaseReason: string | null; servedSeconds: string; endpoints?: { kind: string; url: string }[]; rayRole?: "head" | "worker" | null }[];
  timeline: { id: string; from: string | null; to: string; reason: string; at: string }[];
  receipts: { kind: string; amount: string; token: string; signature: string; at: string | null }[];
  usage: { periodStart: string; gpuSeconds: string; amount: string }[];
  workload: { image: string; command: string[] | null; envNames: string[]; ports: number[]; sshPublicKey: string | null } | null;
}

const STEPS = ["PAID", "MATCHING", "DEPLOYING", "RUNNING"] as const;
const LIVE = new Set(["RUNNING", "DEGRADED"]);
const OVER = new Set(["ENDED", "FAILED", "REFUNDED"]);

const duration = (seconds: number) => {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
};
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—");

/** Live cost between two server updates: served seconds since the snapshot × the lease's price. */
function useLiveCost(cluster: ClusterState, receivedAt: number) {
  const [now, setNow] = useState(receivedAt);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const serving = cluster.nodes.some((node) => node.state === "serving") && LIVE.has(cluster.status) && (cluster.secondsLeft ?? 0) > 0;
  const extra = serving ? BigInt(Math.min(cluster.secondsLeft ?? 0, Math.max(0, Math.floor((now - receivedAt) / 1000)))) : 0n;
  return { cost: (BigInt(cluster.costSoFar) + extra * BigInt(cluster.pricePerSecond)).toString(), secondsLeft: cluster.secondsLeft === null ? null : Math.max(0, cluster.secondsLeft - Math.floor((now - receivedAt) / 1000)) };
}

export function ClusterView({ initial, sessionWallet }: { initial: ClusterState; sessionWallet: string }) {
  const [cluster, setCluster] = useState(initial);
  const [receivedAt, setReceivedAt] = useState(() => Date.now());
  const [live, setLive] = useState<"connecting" | "live" | "paused">("connecting");

  useEffect(() => {
    const source = new EventSource(`/api/v1/clusters/${initial.id}/events`);
    source.addEventListener("cluster", (event) => {
      setCluster(JSON.parse((event as MessageEvent<string>).data) as ClusterState);
      setReceivedAt(Date.now());
      setLive("live");
    });
    source.onerror = () => setLive("paused");
    return () => source.close();
  }, [initial.id]);

  const { cost, secondsLeft } = useLiveCost(cluster, receivedAt);
  const token = cluster.paymentToken;
  const reached = STEPS.indexOf(cluster.status as (typeof STEPS)[number]);
  const refund = cluster.receipts.filter((r) => r.kind === "REFUND").reduce((sum, r) => sum + BigInt(r.amount), 0n);
  const failed = cluster.status === "FAILED" || cluster.status === "REFUNDED";
  const lastReason = cluster.timeline.at(-1)?.reason;

  return (
    <>
      <p><a href="/clusters">← Your clusters</a></p>
      <h1>{cluster.name}</h1>
      <p className="subtitle">
        <span className={`status status-${cluster.status.toLowerCase()}`} data-testid="cluster-status">{cluster.status.toLowerCase()}</span>{" "}
        {cluster.gpuCount} × {cluster.gpuModelIds.join(" / ")} · {cluster.regions.join(", ")} · {cluster.type.toLowerCase().replace("_", " ")}{" "}
        <span className="muted" aria-live="polite">{live === "live" ? "· live" : live === "paused" ? "· reconnecting…" : ""}</span>
      </p>

      {!OVER.has(cluster.status) && !LIVE.has(cluster.status) ? (
        <ol className="progress" aria-label="Deployment progress" data-testid="progress">
          {STEPS.map((step, index) => (
            <li key={step} className={index < reached ? "done" : index === reached ? "current" : ""} aria-current={index === reached ? "step" : undefined}>
              {step.toLowerCase()}
            </li>
          ))}
        </ol>
      ) : null}
      {failed ? (
        <div className="panel error" role="alert" data-testid="failure">
          <h2>The deployment did not succeed</h2>
          <p>Reason: {cluster.timeline.find((event) => event.to === "FAILED")?.reason ?? lastReason}</p>
          <p>{refund > 0n ? `Your deposit was refunded in full: ${money(refund.toString(), token)}.` : "Your deposit is being refunded in full on-chain; the receipt appears below."}</p>
        </div>
      ) : null}
      {LIVE.has(cluster.status) && secondsLeft !== null && secondsLeft < 15 * 60 && !cluster.endRequestedAt ? (
        <p className="panel warning" role="alert" data-testid="ending-soon">This lease ends in {duration(secondsLeft)}. Extend it below to keep the nodes.</p>
      ) : null}

      {cluster.endRequestedAt && !OVER.has(cluster.status) ? (
        <p className="panel" role="status" data-testid="ending">Ending at {when(cluster.endRequestedAt)}: the nodes are being released and the unused deposit refunded on-chain.</p>
      ) : null}
      {cluster.status === "ENDED" ? (
        <p className="panel" role="status" data-testid="ended">
          Ended {when(cluster.endedAt)}. You paid {money((BigInt(cluster.depositAmount) - refund).toString(), token)} for the time served{refund > 0n ? `; ${money(refund.toString(), token)} came back to your wallet` : "; the refund is on its way"}.
        </p>
      ) : null}

      <section className="stats" aria-label="Lease">
        <div className="stat"><div className="label">Time left</div><div className="value" data-testid="time-left">{secondsLeft === null ? "—" : duration(secondsLeft)}</div><div className="hint">ends {when(cluster.endRequestedAt ?? cluster.endsAt)}</div></div>
        <div className="stat"><div className="label">Cost so far</div><div className="value" data-testid="cost-so-far">{money(cost, token)}</div><div className="hint">of {money(cluster.depositAmount, token)} in escrow</div></div>
        <div className="stat"><div className="label">Paid to suppliers</div><div className="value">{money(cluster.settled, token)}</div><div className="hint">settled hourly</div></div>
        <div className="stat"><div className="label">Refunded</div><div className="value" data-testid="refunded">{money(refund.toString(), token)}</div><div className="hint">to your wallet</div></div>
      </section>

      <div className="grid2">
        <section className="panel" aria-labelledby="nodes-title" tabIndex={0}>
          <h2 id="nodes-title">Nodes</h2>
          {cluster.nodes.length === 0 ? <p className="muted">No nodes yet: matching devices…</p> : (
            <table>
              <thead><tr><th scope="col">Node</th><th scope="col">GPUs</th><th scope="col">Where</th><th scope="col">Supplier</th><th scope="col">State</th></tr></thead>
              <tbody>
                {cluster.nodes.map((node) => (
                  <tr key={node.allocationId} data-testid="node-row">
                    <td>{node.deviceName}</td>
                    <td>{node.gpuCount} × {node.gpuModel ?? "?"}</td>
                    <td>{node.city}, {node.region}</td>
                    <td>{node.supplier}</td>
                    <td>{node.state}{node.releaseReason ? ` (${node.releaseReason})` : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Workload</h3>
          {cluster.workload ? (
            <dl className="facts" data-testid="workload">
              <dt>Image</dt>
              <dd>{cluster.workload.image ? <code>{cluster.workload.image}</code> : "the suppliers' machine image (SSH)"}</dd>
              <dt>Command</dt>
              <dd>{cluster.workload.command ? <code>{cluster.workload.command.join(" ")}</code> : "the image's own"}</dd>
              <dt>Environment</dt>
              <dd>{cluster.workload.envNames.length ? <>{cluster.workload.envNames.join(", ")} <small className="muted">(values hidden)</small></> : "none"}</dd>
              <dt>Ports</dt>
              <dd>{cluster.type === "BARE_METAL" ? ["22 (SSH)", ...cluster.workload.ports.filter((port) => port !== 22)].join(", ") : cluster.workload.ports.length ? cluster.workload.ports.join(", ") : "the image's default"}</dd>
              {cluster.workload.sshPublicKey ? (
                <>
                  <dt>SSH key</dt>
                  <dd><code>{cluster.workload.sshPublicKey.split(" ").slice(0, 2).join(" ").slice(0, 40)}…</code></dd>
                </>
              ) : null}
            </dl>
          ) : (
            <p className="muted">The suppliers&apos; default for a {cluster.type.toLowerCase().replace("_", " ")} cluster.</p>
          )}
          <h3>Access</h3>
          {cluster.nodes.some((node) => node.endpoints?.length || (node.rayRole === "worker" && node.state === "serving")) ? (
            <ul data-testid="endpoints">
              {cluster.nodes.flatMap((node) => [
                ...(node.endpoints ?? []).map((endpoint) => (
                  <li key={`${node.allocationId}-${endpoint.kind}`}>
                    {node.deviceName}{node.rayRole === "head" ? " (Ray head)" : ""} · {endpoint.kind}:{" "}
                    {endpoint.url.startsWith("http") ? <a href={endpoint.url} target="_blank" rel="noopener noreferrer">{endpoint.url}</a> : <code data-testid={endpoint.kind === "ssh" ? "ssh-command" : undefined}>{endpoint.kind === "ssh" ? sshCommand(endpoint.url) : endpoint.url}</code>}
                  </li>
                )),
                // A worker serves once it has joined the head (its agent acknowledges only then).
                ...(node.rayRole === "worker" && node.state === "serving" ? [<li key={`${node.allocationId}-ray-worker`}>{node.deviceName} · Ray worker: joined the head</li>] : []),
              ])}
            </ul>
          ) : (
            <p className="muted">Connection details (a Ray head's dashboard, container URLs, a bare-metal node's SSH command) appear here when the node agents report them. The simulated agents of a dev network report them at placeholder addresses (.invalid) where nothing answers.</p>
          )}
        </section>

        <section className="panel" aria-labelledby="timeline-title" tabIndex={0}>
          <h2 id="timeline-title">Timeline</h2>
          <ol className="timeline" data-testid="timeline">
            {cluster.timeline.map((event) => (
              <li key={event.id}><time dateTime={event.at}>{when(event.at)}</time> <strong>{event.to.toLowerCase()}</strong> — {event.reason}</li>
            ))}
          </ol>
        </section>
      </div>

      {LIVE.has(cluster.status) && !cluster.endRequestedAt ? (
        <section className="panel manage" aria-labelledby="manage-title">
          <h2 id="manage-title">Manage</h2>
          <WalletGate>
            <ExtendForm clusterId={cluster.id} token={token} pricePerSecond={cluster.pricePerSecond} sessionWallet={sessionWallet} />
          </WalletGate>
          <TerminateButton clusterId={cluster.id} />
        </section>
      ) : null}

      <div className="grid2">
        <section className="panel" aria-labelledby="usage-title" tabIndex={0}>
          <h2 id="usage-title">Usage per hour</h2>
          {cluster.usage.length === 0 ? <p className="muted">Settled hours appear here (GPU-seconds and what they cost).</p> : (
            <UsageChart usage={cluster.usage} token={token} />
          )}
        </section>
        <section className="panel" aria-labelledby="receipts-title" tabIndex={0}>
          <h2 id="receipts-title">Receipts</h2>
          {cluster.receipts.length === 0 ? <p className="muted">No payments yet.</p> : (
            <table data-testid="receipts">
              <thead><tr><th scope="col">What</th><th scope="col" className="num">Amount</th><th scope="col">Transaction</th></tr></thead>
              <tbody>
                {cluster.receipts.map((receipt) => (
                  <tr key={`${receipt.signature}-${receipt.kind}`} data-testid={`receipt-${receipt.kind.toLowerCase()}`}>
                    <td>{receipt.kind.toLowerCase()}</td>
                    <td className="num">{money(receipt.amount, receipt.token)}</td>
                    <td><a href={`/tx/${receipt.signature}`} title={receipt.signature}><code>{receipt.signature.slice(0, 8)}…{receipt.signature.slice(-6)}</code></a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </>
  );
}
