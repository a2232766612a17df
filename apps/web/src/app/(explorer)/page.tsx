import { formatAmount, region as regionInfo } from "@gpumesh/core";
import { networkSummary, type NetworkSummary } from "@gpumesh/db";
import { db } from "@/server/db.ts";
import { logger } from "@/server/logger.ts";

export const dynamic = "force-dynamic";

const number = (value: number) => value.toLocaleString("en-US");

export default async function ExplorerPage() {
  let summary: NetworkSummary;
  try {
    summary = await networkSummary(db);
  } catch (error) {
    // The reason goes to the log; the public page never shows database errors.
    logger.error({ err: error }, "explorer: network summary failed");
    return (
      <div className="panel error" role="alert">
        <h2>The network data is unavailable</h2>
        <p>GPUMesh could not load the network right now. Try again in a minute.</p>
      </div>
    );
  }

  if (summary.devices.total === 0) {
    return (
      <div className="panel empty">
        <h1>No devices yet</h1>
        <p>When suppliers register machines they appear here. In development, `pnpm dev` seeds a simulated network.</p>
      </div>
    );
  }

  const maxRegionGpus = Math.max(...summary.byRegion.map((entry) => entry.gpus));
  return (
    <>
      <h1>Network explorer</h1>
      <p className="subtitle">Live from the GPUMesh database: every supplier machine, by GPU model and region.</p>
      <section className="stats" aria-label="Network totals">
        <div className="stat">
          <div className="label">GPUs online</div>
          <div className="value" data-testid="gpus-online">{number(summary.gpus.online)}</div>
          <div className="hint">of {number(summary.gpus.total)} registered</div>
        </div>
        <div className="stat">
          <div className="label">Devices online</div>
          <div className="value" data-testid="devices-online">{number(summary.devices.online)}</div>
          <div className="hint">of {number(summary.devices.total)} devices</div>
        </div>
        <div className="stat">
          <div className="label">GPUs hired</div>
          <div className="value">{number(summary.gpus.hired)}</div>
          <div className="hint">{summary.gpus.online ? ((summary.gpus.hired / summary.gpus.online) * 100).toFixed(1) : "0"}% utilisation</div>
        </div>
        <div className="stat">
          <div className="label">Suppliers</div>
          <div className="value" data-testid="suppliers">{number(summary.suppliers)}</div>
          <div className="hint">in {summary.byRegion.length} regions</div>
        </div>
      </section>
      <div className="grid2">
        <section className="panel" aria-label="GPUs by model">
          <h2>GPUs by model</h2>
          <table>
            <thead>
              <tr>
                <th>Model</th>
                <th className="num">Online</th>
                <th className="num">Total</th>
                <th className="num">From / GPU-hour</th>
              </tr>
            </thead>
            <tbody>
              {summary.byModel.map((model) => (
                <tr key={model.gpuModelId} data-testid="model-row">
                  <td>{model.name}</td>
                  <td className="num">{number(model.onlineGpus)}</td>
                  <td className="num">{number(model.gpus)}</td>
                  <td className="num">{model.minPricePerGpuHour === null ? "—" : `$${formatAmount(model.minPricePerGpuHour, "USDC", { minFractionDigits: 2 })}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="panel" aria-label="GPUs by region">
          <h2>GPUs by region</h2>
          <table>
            <tbody>
              {summary.byRegion.map((entry) => (
                <tr key={entry.region} data-testid="region-row">
                  <td>{regionInfo(entry.region)?.name ?? entry.region}</td>
                  <td style={{ width: "45%" }}>
                    <div className="bar" aria-hidden>
                      <span style={{ width: `${(entry.gpus / maxRegionGpus) * 100}%` }} />
                    </div>
                  </td>
                  <td className="num">{number(entry.onlineGpus)} / {number(entry.gpus)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </>
  );
}
