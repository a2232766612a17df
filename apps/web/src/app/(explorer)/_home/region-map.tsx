"use client";

import { useState } from "react";
import { count, usdPerHour, type HeadlineWire, type WorldMapWire } from "./wire.ts";

type Region = HeadlineWire["byRegion"][number];

/**
 * GPUs by region on a world map (countries projected on the server; here only the markers). Each
 * marker is focusable, named with its counts, and shows counts and prices on hover or focus; the same
 * values are in the table below it for screen readers and keyboards that prefer rows.
 */
export function RegionMap({ map, regions }: { map: WorldMapWire; regions: Region[] }) {
  const [active, setActive] = useState<string | null>(null);
  const byId = new Map(regions.map((r) => [r.region, r]));
  const maxGpus = Math.max(1, ...regions.map((r) => r.gpus));
  const shown = active ? byId.get(active) : undefined;
  const point = active ? map.regions.find((r) => r.id === active) : undefined;
  return (
    <section className="panel" aria-labelledby="regions-title">
      <h2 id="regions-title">GPUs by region</h2>
      <div className="world-map" style={{ position: "relative" }}>
        <svg viewBox={`0 0 ${map.width} ${map.height}`} width="100%" role="group" aria-label="World map of GPU regions (the table below lists the same numbers)" style={{ display: "block" }}>
          <g fill="#1b2130" stroke="#2a3242" strokeWidth={0.5} aria-hidden="true">
            {map.countries.map((d, i) => (
              <path key={i} d={d} />
            ))}
          </g>
          {map.regions.map((p) => {
            const region = byId.get(p.id);
            if (!region) return null;
            const radius = 5 + 18 * Math.sqrt(region.gpus / maxGpus);
            return (
              <circle
                key={p.id}
                cx={p.x}
                cy={p.y}
                r={radius}
                fill="#5eead4"
                fillOpacity={active === p.id ? 0.75 : 0.4}
                stroke="#5eead4"
                strokeWidth={1.5}
                tabIndex={0}
                role="img"
                aria-label={`${region.name}: ${count(region.onlineGpus)} of ${count(region.gpus)} GPUs online, ${count(region.availableGpus)} free, median ${usdPerHour(region.medianPricePerGpuHour)} per GPU-hour`}
                onMouseEnter={() => setActive(p.id)}
                onMouseLeave={() => setActive(null)}
                onFocus={() => setActive(p.id)}
                onBlur={() => setActive(null)}
                data-testid="map-marker"
                data-region={p.id}
              />
            );
          })}
        </svg>
        {shown && point && (
          <div className="map-tip" data-testid="map-tip" style={{ left: `${(point.x / map.width) * 100}%`, top: `${(point.y / map.height) * 100}%` }}>
            <strong>{shown.name}</strong>
            <br />
            {count(shown.onlineGpus)} online / {count(shown.gpus)} GPUs · {count(shown.availableGpus)} free
            <br />
            median {usdPerHour(shown.medianPricePerGpuHour)} / GPU-h
          </div>
        )}
      </div>
      <table aria-label="GPUs by region">
        <thead>
          <tr>
            <th scope="col">Region</th>
            <th scope="col" className="num">Online / total GPUs</th>
            <th scope="col" className="num">Free</th>
            <th scope="col" className="num">Median / GPU-h</th>
          </tr>
        </thead>
        <tbody>
          {regions.map((r) => (
            <tr key={r.region} data-testid="region-row" data-region={r.region}>
              <th scope="row">{r.name}</th>
              <td className="num">{count(r.onlineGpus)} / {count(r.gpus)}</td>
              <td className="num">{count(r.availableGpus)}</td>
              <td className="num">{usdPerHour(r.medianPricePerGpuHour)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
