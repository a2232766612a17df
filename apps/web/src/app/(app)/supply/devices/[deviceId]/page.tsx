import { connectivityTierSpec, formatAmount, REGIONS, unitsPerToken } from "@gpumesh/core";
import type { Metadata } from "next";
import { measuredLink, utcTime } from "@/lib/format.ts";
import { notFound } from "next/navigation";
import { DeviceParams } from "@/server/api/schemas/supply.ts";
import { ApiError } from "@/server/api/errors.ts";
import { requireSession } from "@/server/auth/session.ts";
import { supplierDeviceDetail } from "@/server/services/supply/device-detail.ts";
import { AutoRefresh } from "../../_components/auto-refresh.tsx";
import { PauseActions } from "./_components/pause-actions.tsx";
import { StakeActions } from "./_components/stake-actions.tsx";
import { EarningsChart } from "@/components/devices/earnings-chart.tsx";
import { EvidenceTable } from "@/components/devices/evidence-table.tsx";

export const metadata: Metadata = { title: "Device" };
export const dynamic = "force-dynamic";

const when = (date: Date | null) => utcTime(date);

export default async function SupplierDevicePage({ params }: { params: Promise<{ deviceId: string }> }) {
  const session = await requireSession();
  const parsed = DeviceParams.safeParse(await params);
  if (!parsed.success) notFound();
  const detail = await supplierDeviceDetail(session.accountId, parsed.data.deviceId).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  const { device } = detail;
  const region = REGIONS.find((r) => r.id === device.region)?.name ?? device.region;
  const chart = detail.earnings.map((day) => ({ day: day.day, lease: Number(day.leaseGross) / Number(unitsPerToken("USDC")), rewards: Number(day.rewards) / Number(unitsPerToken("MESH")) }));
  return (
    <>
      <p><a href="/supply">← Supply</a></p>
      <h1>{device.name}</h1>
      <p className="subtitle">
        {device.gpuModelId ? `${device.gpuCount} × ${device.gpuModelId}, ${device.vramGb} GB each` : "CPU device"} · {region} ({device.city}, {device.country}) ·{" "}
        <span className="status" data-testid="device-status">{device.removed ? "removed" : device.pausedAt ? `${device.status.toLowerCase()}, paused` : device.status.toLowerCase()}</span>
      </p>
      <AutoRefresh everyMs={15_000} />
      <div className="supply">
        <section className="panel" aria-labelledby="spec-heading">
          <h2 id="spec-heading">Machine</h2>
          <dl className="facts">
            <dt>CPU</dt><dd>{device.cpuModel}, {device.cpuCores} threads</dd>
            <dt>Memory and disk</dt><dd>{device.ramGb} GB RAM, {device.diskGb} GB disk</dd>
            <dt>Link (measured at join)</dt><dd>{measuredLink(device)} · {connectivityTierSpec(device.connectivityTier).label} tier</dd>
            <dt>Supplier network</dt><dd>{device.network}</dd>
            <dt>Ask</dt><dd>{device.gpuCount > 0 ? `${formatAmount(device.pricePerGpuHour, "USDC")} USDC per GPU-hour` : "—"}</dd>
            <dt>Last heartbeat</dt><dd>{when(device.lastHeartbeatAt)}</dd>
            <dt>Verification score</dt><dd>{(device.verificationScoreBps / 100).toFixed(0)}% · last passed {when(device.verifiedAt)} · next check after {when(device.nextChallengeAt)}</dd>
            <dt>Current lease</dt>
            <dd data-testid="device-lease">{detail.lease ? `cluster ${detail.lease.clusterId.slice(0, 8)} until ${when(detail.lease.endsAt)}` : "none"}</dd>
          </dl>
        </section>
        {device.removed ? null : (
          <section className="panel" aria-labelledby="leases-heading" data-testid="taking-leases">
            <h2 id="leases-heading">New leases</h2>
            {device.pausedAt ? (
              <p data-testid="pause-state">
                <strong>Paused</strong> since {when(device.pausedAt)}: renters cannot rent it{detail.lease ? `; its current lease runs until ${when(detail.lease.endsAt)}` : ""}. It keeps heartbeating and being checked, and earns no token reward for any hour it is paused in.
              </p>
            ) : (
              <p data-testid="pause-state">
                <strong>Taking leases.</strong> Pause it to use the machine yourself: it stops being offered at once, a lease it serves runs to its end, and the hours it is paused in earn no token reward.
              </p>
            )}
            <PauseActions deviceId={device.id} name={device.name} paused={device.pausedAt !== null} />
          </section>
        )}
        <section className="panel" aria-labelledby="stake-heading" data-testid="stake">
          <h2 id="stake-heading">Stake</h2>
          <p>
            Required: <strong>{formatAmount(detail.stake.required, "MESH")} MESH</strong> ({device.gpuCount} × {device.gpuModelId ?? "CPU"}, weight {detail.stake.weightBps.toLocaleString("en-US")} bps; an H100 needs 1,000 MESH). Staked on-chain:{" "}
            <strong data-testid="staked">{detail.stake.staked === null ? "unknown (the chain is not reachable)" : `${formatAmount(detail.stake.staked, "MESH")} MESH`}</strong>
            {detail.stake.active ? " · active" : detail.stake.withdrawableAt ? ` · unstaking, withdrawable from ${when(detail.stake.withdrawableAt)}` : ""}
            {detail.stake.slashed > 0n ? ` · ${formatAmount(detail.stake.slashed, "MESH")} MESH slashed (burned)` : ""}.
          </p>
          <StakeActions
            sessionWallet={session.walletAddress}
            deviceId={device.id}
            stake={{ required: detail.stake.required.toString(), staked: detail.stake.staked?.toString() ?? null, withdrawableAt: detail.stake.withdrawableAt?.toISOString() ?? null, weightBps: detail.stake.weightBps }}
          />
          <p className="muted">No rewards without stake: a device earns only while its stake is at least the required amount and no unstake is under way. The network co-signs each stake (its attestation of the device’s weight); the program holds each device’s stake in a vault of its own; unstaking takes a 7-day cooldown, only proven cheating (a failed proof of work with its evidence, or vanishing mid-lease) is slashed, and slashed MESH is burned.</p>
        </section>
        <section className="panel" aria-labelledby="earnings-heading">
          <h2 id="earnings-heading">Earnings, last 14 days</h2>
          <p>
            Lease income (gross, before the protocol fee): <strong data-testid="lease-total">{formatAmount(detail.totals.leaseGross, "USDC")} USDC</strong> all time ·
            token rewards: <strong>{formatAmount(detail.totals.rewards, "MESH")} MESH</strong> all time.
          </p>
          <EarningsChart days={chart} label="Earnings per day: lease income and token rewards over the last 14 days (the totals are above)" />
        </section>
        <section className="panel" aria-labelledby="evidence-heading">
          <h2 id="evidence-heading">Proof-of-work checks</h2>
          <p className="muted">Each check: the verifier’s seed and matrix size n, the root your agent committed to, the rows the verifier opened after it, the time your agent reported, and the verdict. Anyone can re-run a check from these values.</p>
          {detail.evidence.length === 0 ? (
            <p className="empty" data-testid="no-evidence">No checks yet: the first comes within a minute of the agent connecting.</p>
          ) : (
            <EvidenceTable checks={detail.evidence} />
          )}
        </section>
      </div>
    </>
  );
}
