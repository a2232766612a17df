"use client";

import { Line, LineChart } from "recharts";
import { count, usdPerHour, type ModelMarketWire } from "./wire.ts";

function trend(now: string | null, dayAgo: string | null): { text: string; label: string } {
  if (now === null || dayAgo === null || BigInt(dayAgo) === 0n) return { text: "—", label: "no price a day ago" };
  const change = Number(((BigInt(now) - BigInt(dayAgo)) * 10_000n) / BigInt(dayAgo)) / 100;
  const text = `${change > 0 ? "+" : ""}${change.toFixed(1)}%`;
  return { text, label: `${text} against 24 hours ago` };
}

/** A small line of the hourly median ask; decorative (the trend column says it in words). */
function Sparkline({ points }: { points: ModelMarketWire["priceHistory"] }) {
  const data = points.filter((p) => p.medianPricePerGpuHour !== null).map((p) => ({ v: Number(p.medianPricePerGpuHour) }));
  if (data.length < 2) return <span className="muted" aria-hidden>·</span>;
  return (
    <span aria-hidden style={{ display: "inline-block" }}>
      {/* No accessibility layer: it makes the svg focusable, and a focusable element inside aria-hidden is an axe violation. */}
      <LineChart width={90} height={24} data={data} accessibilityLayer={false}>
        <Line type="monotone" dataKey="v" stroke="#5eead4" dot={false} strokeWidth={1.5} isAnimationActive={false} />
      </LineChart>
    </span>
  );
}

/** By GPU model: counts, free GPUs, asks and their 24 h trend. */
export function ModelsTable({ models }: { models: ModelMarketWire[] }) {
  return (
    // Focusable: on a phone the table scrolls sideways, and keyboard users must be able to scroll it.
    <section className="panel" aria-labelledby="models-title" tabIndex={0}>
      <h2 id="models-title">GPUs by model</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col" className="num">Online</th>
            <th scope="col" className="num">Free</th>
            <th scope="col" className="num">Total</th>
            <th scope="col" className="num">Median / GPU-h</th>
            <th scope="col" className="num">24 h</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => {
            const t = trend(m.medianPricePerGpuHour, m.medianPricePerGpuHour24hAgo);
            return (
              <tr key={m.gpuModelId} data-testid="model-row" data-model={m.gpuModelId}>
                <th scope="row">{m.name}</th>
                <td className="num">{count(m.onlineGpus)}</td>
                <td className="num" data-testid="model-available">{count(m.availableGpus)}</td>
                <td className="num">{count(m.gpus)}</td>
                <td className="num" title={`from ${usdPerHour(m.minPricePerGpuHour)}`}>{usdPerHour(m.medianPricePerGpuHour)}</td>
                <td className="num">
                  <Sparkline points={m.priceHistory} /> <span aria-label={t.label}>{t.text}</span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
