import { formatAmount } from "@gpumesh/core";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { utcTime } from "@/lib/format.ts";
import { ApiError } from "@/server/api/errors.ts";
import { SignatureParams } from "@/server/api/schemas/directory.ts";
import { transactionPage } from "@/server/services/explorer/directory.ts";

export const metadata: Metadata = { title: "Transaction" };
export const dynamic = "force-dynamic";

/** `supplierAmount` → "supplier amount": event fields as words. */
const words = (field: string) => field.replace(/([A-Z])/g, " $1").toLowerCase();

export default async function TransactionPage({ params }: { params: Promise<{ signature: string }> }) {
  // A malformed signature is simply not one of ours: the same 404 as an unknown one, never a 500.
  const parsed = SignatureParams.safeParse(await params);
  if (!parsed.success) notFound();
  const tx = await transactionPage(parsed.data.signature).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  return (
    <>
      <p><a href="/devices">← Devices</a></p>
      <h1>Transaction</h1>
      <p className="subtitle"><code className="break" data-testid="signature">{tx.signature}</code></p>
      <section className="panel" aria-labelledby="tx-heading">
        <h2 id="tx-heading">GPUMesh program transaction</h2>
        <dl className="facts">
          <dt>Slot</dt><dd>{tx.slot.toLocaleString("en-US")}</dd>
          <dt>Time</dt><dd>{utcTime(tx.blockTime, "unknown")}</dd>
          <dt>Events</dt><dd>{tx.events.length}</dd>
        </dl>
      </section>
      <div className="supply" style={{ marginTop: 16 }}>
        {tx.events.map((event) => (
          <section key={event.index} className="panel" aria-labelledby={`event-${event.index}`} data-testid="tx-event">
            <h2 id={`event-${event.index}`}>{event.index + 1}. {event.name}</h2>
            <dl className="facts">
              {event.amounts.map((amount) => (
                <div key={amount.field} className="fact">
                  <dt>{words(amount.field)}</dt>
                  <dd data-testid={`amount-${amount.field}`}>{formatAmount(amount.units, event.token ?? "USDC")} {event.token}</dd>
                </div>
              ))}
              {event.leaseId !== null ? (<div className="fact"><dt>lease</dt><dd>#{event.leaseId.toString()}</dd></div>) : null}
              {event.supplier ? (<div className="fact"><dt>supplier</dt><dd><a href={`/suppliers/${event.supplier.id}`} data-testid="tx-supplier">{event.supplier.name}</a></dd></div>) : null}
              {event.devices.length ? (
                <div className="fact">
                  <dt>{event.devices.length === 1 ? "device" : "devices"}</dt>
                  <dd>{event.devices.map((device, i) => (<span key={device.id}>{i ? ", " : ""}<a href={`/devices/${device.id}`}>{device.name}</a></span>))}</dd>
                </div>
              ) : null}
              {event.fields.map((field) => (
                <div key={field.field} className="fact">
                  <dt>{words(field.field)}</dt>
                  <dd><code className="break">{field.value}</code></dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </>
  );
}
