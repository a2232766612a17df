"use client";

import { useEffect, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ClientSelect } from "@/components/ui/client-controls.tsx";
import { useMounted } from "@/hooks/use-mounted.ts";
import { PriceHistoryChart } from "./price-history-chart.tsx";

type Metric = "devicesOnline" | "gpusOnline" | "utilisationBps" | "revenueUsdc" | "meshMinted" | "meshBurned";
type Range = "1h" | "24h" | "7d" | "30d";
type Series = Partial<Record<Metric, { at: string; value: string }[]>>;

const CHARTS: { title: string; lines: { metric: Metric; name: string; color: string; scale: (v: bigint) => number }[] }[] = [
  { title: "Online", lines: [{ metric: "devicesOnline", name: "Devices", color: "#7c9cff", scale: Number }, { metric: "gpusOnline", name: "GPUs", color: "#5eead4", scale: Number }] },
  { title: "Utilisation (%)", lines: [{ metric: "utilisationBps", name: "GPUs hired / online", color: "#5eead4", scale: (v) => Number(v) / 100 }] },
  { title: "Revenue settled (USDC)", lines: [{ metric: "revenueUsdc", name: "USDC per bucket", color: "#3ddbb0", scale: (v) => Number(v) / 1e6 }] },
  {
    title: "MESH minted vs burned",
    lines: [
      { metric: "meshMinted", name: "Minted", color: "#7c9cff", scale: (v) => Number(v) / 1e6 },
      { metric: "meshBurned", name: "Burned", color: "#fbbf24", scale: (v) => Number(v) / 1e6 },
    ],
  },
];

/**
 * The network over time (GET /api/v1/network/history), one chart per concern. Refetched when a new
 * snapshot arrives (`version`) or the range changes. Charts are images with a label; the numbers they
 * draw are the API's, and the tiles above say the current ones in text.
 */
export function HistoryCharts({ version, models }: { version: string | null; models: { gpuModelId: string; name: string }[] }) {
  const mounted = useMounted();
  const [range, setRange] = useState<Range>("24h");
  const [series, setSeries] = useState<Series>({});
  const [problem, setProblem] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    const metrics = CHARTS.flatMap((c) => c.lines.map((l) => l.metric));
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
          const points = new Map<string, Record<string, number | string>>();
          for (const line of chart.lines) {
            for (const p of series[line.metric] ?? []) {
              const row = points.get(p.at) ?? { at: p.at };
              row[line.metric] = line.scale(BigInt(p.value));
              points.set(p.at, row);
            }
          }
          const data = [...points.values()];
          return (
            <figure key={chart.title} className="chart">
              <figcaption>{chart.title}</figcaption>
              {!mounted || data.length === 0 ? (
                <p className="muted chart-empty">{mounted ? "No snapshots in this range yet." : ""}</p>
              ) : (
                <div style={{ width: "100%", height: 180 }} role="img" aria-label={`${chart.title}, ${range}`}>
                  <ResponsiveContainer>
                    <LineChart data={data} margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
                      <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
                      <XAxis dataKey="at" tickFormatter={label} stroke="#9aa4b2" fontSize={11} minTickGap={24} />
                      <YAxis stroke="#9aa4b2" fontSize={11} width={48} />
                      <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} labelFormatter={(v) => new Date(String(v)).toUTCString()} />
                      {chart.lines.length > 1 && <Legend />}
                      {chart.lines.map((line) => (
                        <Line key={line.metric} type="monotone" dataKey={line.metric} name={line.name} stroke={line.color} dot={false} isAnimationActive={false} />
                      ))}
                    </LineChart>
                  </ResponsiveContainer>
                </div>
              )}
            </figure>
          );
        })}
        <PriceHistoryChart models={models} range={range} version={version} label={label} />
      </div>
    </section>
  );
}
