"use client";

import { useEffect, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ClientSelect } from "@/components/ui/client-controls.tsx";
import { useMounted } from "@/hooks/use-mounted.ts";

interface PricePoint {
  at: string;
  minPricePerGpuHour: string | null;
  medianPricePerGpuHour: string | null;
  gpusAvailable: number;
}

const usdc = (units: string | null) => (units === null ? null : Number(units) / 1e6);

/**
 * One GPU model's asks per GPU-hour over the range (GET /api/v1/models/{id}/history): median and
 * lowest over its free GPUs. A gap in the lines is a bucket where none of that model was free.
 */
export function PriceHistoryChart({ models, range, version, label }: { models: { gpuModelId: string; name: string }[]; range: string; version: string | null; label: (iso: string) => string }) {
  const mounted = useMounted();
  const [model, setModel] = useState(models[0]?.gpuModelId ?? "");
  const [points, setPoints] = useState<PricePoint[]>([]);
  const [problem, setProblem] = useState(false);
  const name = models.find((m) => m.gpuModelId === model)?.name ?? model;

  useEffect(() => {
    if (!model) return;
    const controller = new AbortController();
    fetch(`/api/v1/models/${encodeURIComponent(model)}/history?range=${range}`, { signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) throw new Error(String(response.status));
        setPoints(((await response.json()) as { points: PricePoint[] }).points);
        setProblem(false);
      })
      .catch(() => {
        if (!controller.signal.aborted) setProblem(true);
      });
    return () => controller.abort();
  }, [model, range, version]);

  const data = points.map((p) => ({ at: p.at, median: usdc(p.medianPricePerGpuHour), lowest: usdc(p.minPricePerGpuHour) }));
  return (
    <figure className="chart" data-testid="price-history">
      <figcaption style={{ display: "flex", justifyContent: "space-between", gap: 8, flexWrap: "wrap" }}>
        <span>Asks per GPU-hour (USDC)</span>
        <label>
          <span className="visually-hidden">GPU model of the price chart</span>
          <ClientSelect value={model} onChange={(event) => setModel(event.target.value)} data-testid="price-history-model">
            {models.map((m) => (
              <option key={m.gpuModelId} value={m.gpuModelId}>{m.name}</option>
            ))}
          </ClientSelect>
        </label>
      </figcaption>
      {problem && <p className="error-text" role="alert">The prices could not be loaded. They will retry with the next snapshot.</p>}
      {!mounted || data.length === 0 ? (
        <p className="muted chart-empty">{mounted ? "No snapshots in this range yet." : ""}</p>
      ) : (
        <div style={{ width: "100%", height: 180 }} role="img" aria-label={`Asks per GPU-hour for ${name}, ${range}`}>
          <ResponsiveContainer>
            <LineChart data={data} margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
              <XAxis dataKey="at" tickFormatter={label} stroke="#9aa4b2" fontSize={11} minTickGap={24} />
              <YAxis stroke="#9aa4b2" fontSize={11} width={48} />
              <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} labelFormatter={(v) => new Date(String(v)).toUTCString()} />
              <Legend />
              <Line type="monotone" dataKey="median" name="Median ask" stroke="#5eead4" dot={false} isAnimationActive={false} connectNulls={false} />
              <Line type="monotone" dataKey="lowest" name="Lowest ask" stroke="#7c9cff" dot={false} isAnimationActive={false} connectNulls={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
