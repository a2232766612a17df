"use client";

import { CONNECTIVITY_TIERS } from "@gpumesh/core";
import { useEffect, useRef, useState } from "react";
import { ClientSelect } from "@/components/ui/client-controls.tsx";
import { count, type ShapeWire } from "./wire.ts";

// LOW or better is every device: "Any connectivity" (`*`) stands for it.
const TIERS = [
  { value: "*", label: "Any connectivity" },
  ...CONNECTIVITY_TIERS.filter((t) => t.tier !== "LOW").map((t) => ({ value: t.tier, label: t.tier === "ULTRA_HIGH" ? t.label : `${t.label} or better` })),
];

/**
 * Deployable now, by shape: for 1, 8 and 64 GPUs of each model, how many clusters fit this minute on
 * one device each and on several whole devices. Filters re-query GET /api/v1/capacity; a new network
 * snapshot (`version`) re-queries too.
 */
export function Deployable({ initial, regions, version }: { initial: ShapeWire[]; regions: { id: string; name: string }[]; version: string | null }) {
  const [filters, setFilters] = useState({ region: "*", tier: "*", verification: "verified", runtime: "any" });
  const [shapes, setShapes] = useState(initial);
  const [problem, setProblem] = useState<string | null>(null);
  // The server rendered the default filters at this snapshot: no need to fetch them again.
  const rendered = useRef(JSON.stringify([filters, version]));

  useEffect(() => {
    if (JSON.stringify([filters, version]) === rendered.current) return;
    rendered.current = "";
    const controller = new AbortController();
    const query = new URLSearchParams(filters);
    fetch(`/api/v1/capacity?${query}`, { signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) throw new Error(String(response.status));
        setShapes(((await response.json()) as { shapes: ShapeWire[] }).shapes);
        setProblem(null);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setProblem(error instanceof Error ? "Could not load capacity for these filters. Try again in a moment." : "Could not load capacity.");
      });
    return () => controller.abort();
  }, [filters, version]);

  const set = (key: keyof typeof filters) => (event: React.ChangeEvent<HTMLSelectElement>) => setFilters({ ...filters, [key]: event.target.value });
  const models = [...new Map(shapes.map((s) => [s.gpuModelId, s.name])).entries()];
  const cell = (model: string, gpus: number) => shapes.find((s) => s.gpuModelId === model && s.gpuCount === gpus);
  return (
    <section className="panel" aria-labelledby="deployable-title">
      <h2 id="deployable-title">Deployable now</h2>
      <p className="muted" style={{ marginTop: 0 }}>
        Clusters that could be placed this minute on free, verified devices, whole devices only (as a deploy takes them): on one node, or on any number of nodes.
        {filters.runtime === "image" ? " With your own container image, only devices whose agents run images count." : ""}
      </p>
      <div className="filters" role="group" aria-label="Capacity filters">
        <label>
          <span>Region</span>
          <ClientSelect value={filters.region} onChange={set("region")} data-testid="capacity-region">
            <option value="*">Any region</option>
            {regions.map((r) => (
              <option key={r.id} value={r.id}>{r.name}</option>
            ))}
          </ClientSelect>
        </label>
        <label>
          <span>Connectivity</span>
          <ClientSelect value={filters.tier} onChange={set("tier")}>
            {TIERS.map((t) => (
              <option key={t.value} value={t.value}>{t.label}</option>
            ))}
          </ClientSelect>
        </label>
        <label>
          <span>Workload</span>
          <ClientSelect value={filters.runtime} onChange={set("runtime")} data-testid="capacity-runtime">
            <option value="any">Suppliers&apos; default</option>
            <option value="image">Your container image</option>
          </ClientSelect>
        </label>
        <label>
          <span>Verification</span>
          <ClientSelect value={filters.verification} onChange={set("verification")}>
            <option value="verified">Verified</option>
            <option value="high">Score 90% or more</option>
          </ClientSelect>
        </label>
      </div>
      {problem && <p className="error-text" role="alert">{problem}</p>}
      {models.length === 0 ? (
        <p className="empty" data-testid="capacity-empty">No free GPUs match these filters right now.</p>
      ) : (
        <table data-testid="capacity-table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="num">Free GPUs</th>
              {[1, 8, 64].map((gpus) => (
                <th key={gpus} scope="col" className="num">{gpus} GPU{gpus > 1 ? "s" : ""}<br /><small className="muted">1 node / any</small></th>
              ))}
            </tr>
          </thead>
          <tbody>
            {models.map(([model, name]) => (
              <tr key={model} data-testid="capacity-row" data-model={model}>
                <th scope="row">{name}</th>
                <td className="num">{count(cell(model, 1)?.freeGpus ?? 0)}</td>
                {[1, 8, 64].map((gpus) => {
                  const shape = cell(model, gpus);
                  return (
                    <td key={gpus} className="num" data-testid={`capacity-${gpus}`}>
                      {shape ? `${count(shape.singleNode)} / ${count(shape.anyNodes)}` : "0 / 0"}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
