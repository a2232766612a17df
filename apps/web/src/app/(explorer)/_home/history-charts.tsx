"use client";

import { useEffect, useState } from "react";
import { ClientSelect } from "@/components/ui/client-controls.tsx";
import { PriceHistoryChart } from "./price-history-chart.tsx";
import { TimeChart } from "./time-chart.tsx";

type Metric = "devicesOnline" | "gpusOnline" | "utilisationBps" | "revenueUsdc" | "meshMinted" | "meshBurned";
type Range = "1h" | "24h" | "7d" | "30d";
type Series = Partial<Record<Metric, { at: string; value: string }[]>>;

const CHARTS: { title: string; lines: { key: Metric; name: string; color: string; scale: (v: bigint) => number }[] }[] = [
  { title: "Online", lines: [{ key: "devicesOnline", name: "Devices", color: "#7c9cff", scale: Number }, { key: "gpusOnline", name: "GPUs", color: "#5eead4", scale: Number }] },
  { title: "Utilisation (%)", lines: [{ key: "utilisationBps", name: "GPUs hired / online", color: "#5eead4", scale: (v) => Number(v) / 100 }] },
  { title: "Revenue settled (USDC)", lines: [{ key: "revenueUsdc", name: "USDC per bucket", color: "#3ddbb0", scale: (v) => Number(v) / 1e6 }] },
  {
    title: "MESH minted vs burned",
    lines: [
      { key: "meshMinted", name: "Minted", color: "#7c9cff", scale: (v) => Number(v) / 1e6 },
      { key: "meshBurned", name: "Burned", color: "#fbbf24", scale: (v) => Number(v) / 1e6 },
    ],
  },
];

/**
 * The network over time (GET /api/v1/network/history), one chart per concern. Refetched when a new
 * snapshot arrives (`version`) or the range changes. Charts are images with a label; the numbers they
 * draw are the API's, and the tiles above say the current ones in text.
 */
export function HistoryCharts({ version, models }: { version: string | null; models: { gpuModelId: string; name: string }[] }) {
  const [range, setRange] = useState<Range>("24h");
  const [series, setSeries] = useState<Series>({});
  const [problem, setProblem] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    const metrics = CHARTS.flatMap((c) => c.lines.map((l) => l.key));
    Promise.all(
      metrics.map(async (metric) => {
        const response = await fetch(`/api/v1/network/history?metric=${metric}&range=${range}`, { signal: controller.signal });
        if (!response.ok) throw new Error(String(response.status));
        return [metric, ((await response.json()) as { points: { at: string; value: string }[] }).points] as const;
      }),
    )
      .then((entries) => {
        setSeries(Object.fromEntries(entries));
        setProblem(false);
      })
      .catch(() => {
        if (!controller.signal.aborted) setProblem(true);
      });
    return () => controller.abort();
  }, [range, version]);

  const label = (iso: string) => {
    const d = new Date(iso);
    return range === "1h" || range === "24h" ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
  };
  return (
    <section className="panel" aria-labelledby="history-title">
      <div style={{ display: "flex", justifyContent: "space-between", alignItems: "center", gap: 12, flexWrap: "wrap" }}>
        <h2 id="history-title" style={{ margin: 0 }}>Over time</h2>
        <label>
          <span className="muted">Range </span>
          <ClientSelect value={range} onChange={(e) => setRange(e.target.value as Range)}>
            <option value="1h">1 hour</option>
            <option value="24h">24 hours</option>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
          </ClientSelect>
        </label>
      </div>
      {problem && <p className="error-text" role="alert">The history could not be loaded. It will retry with the next snapshot.</p>}
      <div className="charts">
        {CHARTS.map((chart) => {
          const points = new Map<string, { at: string } & Record<string, number | string>>();
          for (const line of chart.lines) {
            for (const p of series[line.key] ?? []) {
              const row = points.get(p.at) ?? { at: p.at };
              row[line.key] = line.scale(BigInt(p.value));
              points.set(p.at, row);
            }
          }
          return <TimeChart key={chart.title} title={chart.title} alt={`${chart.title}, ${range}`} data={[...points.values()]} lines={chart.lines} tick={label} />;
        })}
        <PriceHistoryChart models={models} range={range} version={version} label={label} />
      </div>
    </section>
  );
}
