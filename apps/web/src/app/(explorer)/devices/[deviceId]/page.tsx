import { connectivityTierSpec, formatAmount, gpuModel, region as regionInfo } from "@gpumesh/core";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { EvidenceTable } from "@/components/devices/evidence-table.tsx";
import { UptimeChart } from "@/components/devices/uptime-chart.tsx";
import { measuredLink, utcTime } from "@/lib/format.ts";
import { ApiError } from "@/server/api/errors.ts";
import { DeviceIdParams } from "@/server/api/schemas/directory.ts";
import { devicePage } from "@/server/services/explorer/directory.ts";
import { StatusBadge } from "../../_components/status-badge.tsx";
import { TxLink } from "../../_components/tx-link.tsx";

export const metadata: Metadata = { title: "Device" };
export const dynamic = "force-dynamic";

const percent = (bps: number | null) => (bps === null ? "—" : `${(bps / 100).toFixed(1)}%`);
const tier = (value: string) => value.toLowerCase().replaceAll("_", " ");

export default async function DevicePage({ params }: { params: Promise<{ deviceId: string }> }) {
  const parsed = DeviceIdParams.safeParse(await params);
  if (!parsed.success) notFound();
  const detail = await devicePage(parsed.data.deviceId).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  const { device, supplier } = detail;
  const model = device.gpuModelId ? (gpuModel(device.gpuModelId)?.name ?? device.gpuModelId) : null;
  return (
    <>
      <p><a href="/devices">← Devices</a></p>
      <h1>{device.name}</h1>
      <p className="subtitle">
        {model ? `${device.gpuCount} × ${model}, ${device.vramGb} GB each` : "CPU device"} · {regionInfo(device.region)?.name ?? device.region} ({device.city}, {device.country}) · supplied by{" "}
        <a href={`/suppliers/${supplier.id}`} data-testid="supplier-link">{supplier.name}</a>
      </p>
      <div className="supply">
        <section className="panel" aria-labelledby="status-heading">
          <h2 id="status-heading">Status: <StatusBadge status={device.status} /></h2>
          <p data-testid="status-reason">{device.statusReason}</p>
          <dl className="facts">
            <dt>Last heartbeat</dt><dd>{utcTime(device.lastHeartbeatAt, "never")}</dd>
            <dt>Verification</dt><dd data-testid="verification">{device.verificationLevel} · score {percent(device.verificationScoreBps)} · last passed {utcTime(device.verifiedAt, "never")}</dd>
            <dt>Joined</dt><dd>{utcTime(device.createdAt)}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="spec-heading">
          <h2 id="spec-heading">Machine</h2>
          <dl className="facts" data-testid="spec">
            <dt>GPUs</dt><dd>{model ? `${device.gpuCount} × ${model} (${device.vramGb} GB VRAM each)` : "none (CPU device)"}</dd>
            <dt>CPU</dt><dd>{device.cpuModel}, {device.cpuCores} threads</dd>
            <dt>Memory and disk</dt><dd>{device.ramGb} GB RAM, {device.diskGb} GB disk</dd>
            <dt>Connectivity</dt><dd>{measuredLink(device)} (measured at join) · {connectivityTierSpec(device.connectivityTier).label} tier</dd>
            <dt>Security</dt><dd>{tier(device.securityTier)}</dd>
            <dt>Supplier network</dt><dd>{device.network}</dd>
            <dt>Ask</dt><dd>{device.gpuCount > 0 ? `${formatAmount(device.pricePerGpuHour, "USDC")} USDC per GPU-hour` : "—"}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="uptime-heading">
          <h2 id="uptime-heading">Uptime</h2>
          <p>
            Last 7 days: <strong data-testid="uptime-7d">{percent(detail.uptime.last7dBps)}</strong> · last 30 days: <strong>{percent(detail.uptime.last30dBps)}</strong>
            <small className="muted"> (time not in a recorded outage since it joined)</small>
          </p>
          <UptimeChart days={detail.uptime.days.map((d) => ({ day: d.day, uptime: d.uptimeBps === null ? null : d.uptimeBps / 100 }))} />
        </section>
        <section className="panel" aria-labelledby="evidence-heading">
          <h2 id="evidence-heading">Proof-of-work checks</h2>
          <p className="muted">Each check: the verifier’s seed and matrix size n, the root the agent committed to, the rows the verifier opened after it, the time the agent reported, and the verdict. Anyone can re-run a check from these values; all of them are at <a href={`/api/v1/devices/${device.id}/evidence`}>/api/v1/devices/…/evidence</a>.</p>
          {detail.checks.checks.length === 0 ? (
            <p className="empty" data-testid="no-evidence">No checks yet: the first comes within a minute of the agent connecting.</p>
          ) : (
            <EvidenceTable checks={detail.checks.checks} />
          )}
        </section>
        <section className="panel" aria-labelledby="leases-heading">
          <h2 id="leases-heading">Leases served</h2>
          <p>
            {detail.totals.leases.toLocaleString("en-US")} leases · billed to renters (before the protocol fee): <strong data-testid="lease-gross">{formatAmount(detail.totals.leaseGross.USDC, "USDC")} USDC</strong>
            {detail.totals.leaseGross.MESH > 0n ? ` and ${formatAmount(detail.totals.leaseGross.MESH, "MESH")} MESH` : ""}
          </p>
          {detail.leases.length === 0 ? (
            <p className="empty" data-testid="no-leases">No leases yet.</p>
          ) : (
            <div tabIndex={0} role="region" aria-label="Leases served" className="scroll">
              <table className="cards">
                <thead>
                  <tr><th scope="col">Lease</th><th scope="col">Type</th><th scope="col" className="num">GPUs</th><th scope="col" className="num">Price / GPU-hour</th><th scope="col">Served</th><th scope="col">Renter</th><th scope="col">State</th></tr>
                </thead>
                <tbody>
                  {detail.leases.map((lease, i) => (
                    <tr key={`${lease.startsAt.toISOString()}-${i}`} data-testid="lease-row">
                      <td data-label="Lease">{lease.openedSignature ? <TxLink signature={lease.openedSignature} /> : lease.leaseId === null ? "—" : `#${lease.leaseId}`}</td>
                      <td data-label="Type">{tier(lease.clusterType)}</td>
                      <td data-label="GPUs" className="num">{lease.gpuCount}</td>
                      <td data-label="Price / GPU-hour" className="num">{formatAmount(lease.pricePerGpuHour, lease.token)} {lease.token}</td>
                      <td data-label="Served">{utcTime(lease.billedFrom ?? lease.startsAt)} → {lease.state === "serving" ? "now" : utcTime(lease.billedUntil ?? lease.endsAt)}</td>
                      <td data-label="Renter"><code>{lease.renter}</code></td>
                      <td data-label="State"><span className={`status ${lease.state === "serving" ? "status-running" : "status-pending"}`}>{lease.state}</span></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section className="panel" aria-labelledby="epochs-heading">
          <h2 id="epochs-heading">Token rewards per epoch</h2>
          <p>All epochs: <strong data-testid="rewards-total">{formatAmount(detail.totals.rewards, "MESH")} MESH</strong></p>
          {detail.epochs.length === 0 ? (
            <p className="empty" data-testid="no-epochs">No rewards yet: each hourly epoch pays verified devices for the time they were online.</p>
          ) : (
            <div tabIndex={0} role="region" aria-label="Token rewards per epoch" className="scroll">
              <table className="cards">
                <thead>
                  <tr><th scope="col">Epoch</th><th scope="col">Hour</th><th scope="col" className="num">GPU-seconds</th><th scope="col" className="num">Weight</th><th scope="col" className="num">Uptime</th><th scope="col" className="num">Reward</th></tr>
                </thead>
                <tbody>
                  {detail.epochs.map((epoch) => (
                    <tr key={epoch.epoch} data-testid="epoch-row">
                      <td data-label="Epoch">{epoch.epoch}</td>
                      <td data-label="Hour">{utcTime(epoch.hourStart)}</td>
                      <td data-label="GPU-seconds" className="num">{epoch.gpuSeconds.toLocaleString("en-US")}</td>
                      <td data-label="Weight" className="num">{(epoch.weightBps / 10_000).toFixed(2)}×</td>
                      <td data-label="Uptime" className="num">{percent(epoch.uptimeBps)}</td>
                      <td data-label="Reward" className="num">{formatAmount(epoch.amount, "MESH")} MESH</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
