import { formatAmount, REGIONS } from "@gpumesh/core";
import type { Metadata } from "next";
import { utcTime } from "@/lib/format.ts";
import { requireSession } from "@/server/auth/session.ts";
import { supplyOverview, type SupplierDevice } from "@/server/services/supply/list-devices.ts";
import { AutoRefresh } from "./_components/auto-refresh.tsx";
import { RegisterDeviceForm } from "./_components/register-device-form.tsx";
import { PayoutWalletForm } from "./_components/payout-wallet-form.tsx";
import { RegisterOnChain } from "./_components/register-on-chain.tsx";
import { RemoveDeviceButton } from "./_components/remove-device-button.tsx";
import { registrationState } from "@/server/services/supply/registration.ts";

export const metadata: Metadata = { title: "Supply" };
export const dynamic = "force-dynamic";

const when = (date: Date | null) => utcTime(date, "never");

/** What a supplier reads first: is the device usable, and if not, why. */
function stateOf(device: SupplierDevice, registered: boolean): { label: string; className: string; why: string } {
  if (device.removed) return { label: "removed", className: "status-failed", why: "its agent key was revoked" };
  if (device.lease) return { label: "leased", className: "status-running", why: `serving a lease until ${when(device.lease.endsAt)}${device.pausedAt ? "; paused: no new leases after it" : ""}` };
  if (device.pausedAt && device.status === "ONLINE") return { label: "paused", className: "status-pending", why: `paused by you since ${when(device.pausedAt)}: no new leases, no token rewards; resume it on its page` };
  switch (device.status) {
    case "REGISTERED":
      if (device.verifiedAt && !registered) return { label: "verified", className: "status-pending", why: "passed its proof of work; register on-chain (above) to make it rentable" };
      return device.lastCheck?.status === "FAILED"
        ? { label: "not verified", className: "status-failed", why: `the last proof of work failed: ${device.lastCheck.failureReason ?? "no reason recorded"}` }
        : { label: "verifying", className: "status-pending", why: device.lastHeartbeatAt ? "connected; waiting for its first proof of work" : "joined; start the agent on the machine" };
    case "ONLINE":
      return { label: "online", className: "status-running", why: "verified and available for leases" };
    case "OFFLINE":
      return { label: "offline", className: "status-failed", why: `no heartbeat since ${when(device.lastHeartbeatAt)}` };
    case "SUSPENDED":
      return { label: "suspended", className: "status-failed", why: "failed verification repeatedly" };
  }
}

export default async function SupplyPage() {
  const session = await requireSession();
  const [overview, registration] = await Promise.all([supplyOverview(session.accountId), registrationState(session)]);
  const regionName = (id: string) => REGIONS.find((region) => region.id === id)?.name ?? id;
  return (
    <>
      <h1>Supply</h1>
      <p className="subtitle">Turn a machine into a GPUMesh node: register it here, run two commands on it, and it earns from leases once it proves its hardware.</p>
      <AutoRefresh everyMs={10_000} />
      <div className="supply">
        <section className="panel" aria-labelledby="registration-heading" data-testid="registration">
          <h2 id="registration-heading">On-chain supplier record</h2>
          {registration.registered ? (
            <>
              <p data-testid="registered">Registered: <code>{registration.onChainAddress}</code>.</p>
              <p>Lease payouts go to <code data-testid="payout-wallet">{registration.payoutWallet ?? "unknown (the chain is not reachable)"}</code>{registration.payoutWallet === session.walletAddress ? " (this wallet)" : ""}.</p>
              <PayoutWalletForm sessionWallet={session.walletAddress} />
            </>
          ) : (
            <>
              <p>Leases pay suppliers through their record in the GPUMesh program. Register once (one transaction from your wallet; it pays the record’s rent, about 0.002 SOL): until then your devices are verified but not rented.</p>
              <RegisterOnChain sessionWallet={session.walletAddress} />
            </>
          )}
        </section>
        <RegisterDeviceForm regions={REGIONS.map((region) => ({ id: region.id, name: region.name }))} />
        <section className="panel" aria-labelledby="devices-heading">
          <h2 id="devices-heading">Your devices</h2>
          {overview.pendingTokens.length > 0 ? (
            <p className="muted" data-testid="pending-tokens">
              Waiting for {overview.pendingTokens.length} machine(s) to join: {overview.pendingTokens.map((t) => `“${t.name}” (${regionName(t.region)}, token valid until ${when(t.expiresAt)})`).join("; ")}.
            </p>
          ) : null}
          {overview.devices.length === 0 ? (
            <div className="empty" data-testid="no-devices">
              <p>No devices yet. Register one, then run the join command on the machine.</p>
            </div>
          ) : (
            <div tabIndex={0} role="region" aria-label="Devices">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Device</th>
                    <th scope="col">State</th>
                    <th scope="col">Hardware</th>
                    <th scope="col">Region</th>
                    <th scope="col" className="num">Verification</th>
                    <th scope="col">Last heartbeat</th>
                    <th scope="col" className="num">Ask / GPU-hour</th>
                    <th scope="col"><span className="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {overview.devices.map((device) => {
                    const state = stateOf(device, registration.registered);
                    return (
                      <tr key={device.id} data-testid="device-row" data-device-id={device.id}>
                        <td><a href={`/supply/devices/${device.id}`}>{device.name}</a></td>
                        <td>
                          <span className={`status ${state.className}`} data-testid="device-state">{state.label}</span>
                          <br />
                          <small className="muted">{state.why}</small>
                        </td>
                        <td>{device.gpuModelId ? `${device.gpuCount} × ${device.gpuModelId}` : "CPU"}</td>
                        <td>{regionName(device.region)}</td>
                        <td className="num">{(device.verificationScoreBps / 100).toFixed(0)}%{device.verifiedAt ? <small className="muted"><br />passed {when(device.verifiedAt)}</small> : null}</td>
                        <td>{when(device.lastHeartbeatAt)}</td>
                        <td className="num">{device.gpuCount > 0 ? `${formatAmount(device.pricePerGpuHour, "USDC")} USDC` : "—"}</td>
                        <td>{device.removed ? null : <RemoveDeviceButton deviceId={device.id} name={device.name} disabled={device.lease !== null} />}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
