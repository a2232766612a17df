import { formatAmount, gpuModel, region as regionInfo, unitsPerToken } from "@gpumesh/core";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { EarningsChart } from "@/components/devices/earnings-chart.tsx";
import { utcTime } from "@/lib/format.ts";
import { ApiError } from "@/server/api/errors.ts";
import { SupplierParams } from "@/server/api/schemas/directory.ts";
import { supplierPage } from "@/server/services/explorer/directory.ts";
import { StatusBadge } from "../../_components/status-badge.tsx";
import { TxLink } from "../../_components/tx-link.tsx";

export const metadata: Metadata = { title: "Supplier" };
export const dynamic = "force-dynamic";

const number = (value: number) => value.toLocaleString("en-US");

export default async function SupplierPage({ params }: { params: Promise<{ supplierId: string }> }) {
  const parsed = SupplierParams.safeParse(await params);
  if (!parsed.success) notFound();
  const detail = await supplierPage(parsed.data.supplierId).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  const { supplier, totals, devices } = detail;
  const chart = detail.earnings.map((day) => ({ day: day.day, lease: Number(day.leaseGross.USDC) / Number(unitsPerToken("USDC")), rewards: Number(day.rewards) / Number(unitsPerToken("MESH")) }));
  return (
    <>
      <p><a href="/devices">← Devices</a></p>
      <h1>{supplier.name}</h1>
      <p className="subtitle">
        Supplier on the {supplier.network === "GPUMESH" ? "GPUMesh" : supplier.network.toLowerCase()} network since {utcTime(supplier.createdAt).slice(0, 10)} · wallet <code>{supplier.wallet}</code> ·{" "}
        {supplier.onChainAddress ? (
          <>
            on-chain record <code title={supplier.onChainAddress} data-testid="on-chain-address">{`${supplier.onChainAddress.slice(0, 6)}…${supplier.onChainAddress.slice(-4)}`}</code>
            {supplier.registeredSignature ? <>, registered in <span data-testid="registration-tx"><TxLink signature={supplier.registeredSignature} /></span></> : null}
          </>
        ) : (
          "not registered on-chain yet"
        )}
      </p>
      <section className="stats" aria-label="Supplier totals">
        <div className="stat"><div className="label">Devices</div><div className="value" data-testid="supplier-devices">{number(totals.devices)}</div><div className="hint">{number(totals.online)} online</div></div>
        <div className="stat"><div className="label">GPUs</div><div className="value">{number(totals.gpus)}</div><div className="hint">{number(totals.onlineGpus)} online</div></div>
        <div className="stat">
          <div className="label">Lease income</div>
          <div className="value">{formatAmount(totals.leaseGross.USDC, "USDC", { minFractionDigits: 2 })}</div>
          <div className="hint">USDC billed, all time{totals.leaseGross.MESH > 0n ? ` · ${formatAmount(totals.leaseGross.MESH, "MESH")} MESH` : ""}</div>
        </div>
        <div className="stat"><div className="label">Token rewards</div><div className="value">{formatAmount(totals.rewards, "MESH", { minFractionDigits: 2 })}</div><div className="hint">MESH, all time</div></div>
      </section>
      <div className="supply">
        <section className="panel" aria-labelledby="earnings-heading">
          <h2 id="earnings-heading">Earnings, last 30 days</h2>
          {detail.earnings.every((day) => day.leaseGross.USDC === 0n && day.leaseGross.MESH === 0n && day.rewards === 0n) ? (
            <p className="empty" data-testid="no-earnings">Nothing earned in the last 30 days.</p>
          ) : (
            <EarningsChart days={chart} label="Earnings per day over the last 30 days: lease income (USDC) and token rewards (MESH); totals are above" />
          )}
        </section>
        <section className="panel" aria-labelledby="devices-heading">
          <h2 id="devices-heading">Devices</h2>
          {devices.items.length === 0 ? (
            <p className="empty" data-testid="no-devices">No devices yet.</p>
          ) : (
            <div tabIndex={0} role="region" aria-label="Devices of this supplier" className="scroll">
              <table className="cards">
                <thead>
                  <tr><th scope="col">Device</th><th scope="col">Hardware</th><th scope="col">Region</th><th scope="col">Status</th><th scope="col">Verification</th></tr>
                </thead>
                <tbody>
                  {devices.items.map((device) => (
                    <tr key={device.id} data-testid="device-row">
                      <td data-label="Device"><a href={`/devices/${device.id}`}>{device.name}</a></td>
                      <td data-label="Hardware">{device.gpuModelId ? `${device.gpuCount} × ${gpuModel(device.gpuModelId)?.name ?? device.gpuModelId}` : `CPU, ${device.cpuCores} threads`}</td>
                      <td data-label="Region">{regionInfo(device.region)?.name ?? device.region}</td>
                      <td data-label="Status"><StatusBadge status={device.status} /></td>
                      <td data-label="Verification">{device.verificationLevel}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {devices.next_cursor ? <p><a href={`/devices?q=${supplier.id}`} data-testid="all-devices">All {number(totals.devices)} devices, with filters →</a></p> : null}
        </section>
      </div>
    </>
  );
}
