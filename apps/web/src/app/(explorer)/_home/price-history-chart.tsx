"use client";

import { useEffect, useState } from "react";
import { ClientSelect } from "@/components/ui/client-controls.tsx";
import { TimeChart } from "./time-chart.tsx";

interface PricePoint {
  at: string;
  minPricePerGpuHour: string | null;
  medianPricePerGpuHour: string | null;
  gpusAvailable: number;
}

const usdc = (units: string | null) => (units === null ? null : Number(units) / 1e6);
const LINES = [
  { key: "median", name: "Median ask", color: "#5eead4" },
  { key: "lowest", name: "Lowest ask", color: "#7c9cff" },
];

/**
 * One GPU model's asks per GPU-hour over the range (GET /api/v1/models/{id}/history): median and
 * lowest over its free GPUs. A gap in the lines is a bucket where none of that model was free.
 */
export function PriceHistoryChart({ models, range, version, label }: { models: { gpuModelId: string; name: string }[]; range: string; version: string | null; label: (iso: string) => string }) {
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
  const controls = (
    <label>
      <span className="visually-hidden">GPU model of the price chart</span>
      <ClientSelect value={model} onChange={(event) => setModel(event.target.value)} data-testid="price-history-model">
        {models.map((m) => (
          <option key={m.gpuModelId} value={m.gpuModelId}>{m.name}</option>
        ))}
      </ClientSelect>
    </label>
  );
  return (
    <TimeChart
      title="Asks per GPU-hour (USDC)"
      controls={controls}
      alt={`Asks per GPU-hour for ${name}, ${range}`}
      data={data}
      lines={LINES}
      tick={label}
      problem={problem ? "The prices could not be loaded. They will retry with the next snapshot." : null}
      testId="price-history"
    />
  );
}
