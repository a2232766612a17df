"use client";

import { useEffect, useState } from "react";
import { useNetworkStream } from "@/hooks/use-network-stream.ts";
import { Deployable } from "./deployable.tsx";
import { HistoryCharts } from "./history-charts.tsx";
import { ModelsTable } from "./models-table.tsx";
import { RegionMap } from "./region-map.tsx";
import { Tiles } from "./tiles.tsx";
import type { HeadlineWire, ModelMarketWire, ShapeWire, WorldMapWire } from "./wire.ts";

export interface ExplorerHomeProps {
  headline: HeadlineWire;
  shapes: ShapeWire[];
  models: ModelMarketWire[];
  map: WorldMapWire;
  regions: { id: string; name: string }[];
}

/**
 * The explorer home, live: the headline comes from the SSE stream after the server-rendered one;
 * a new snapshot re-reads the model markets, the shapes and the charts.
 */
export function ExplorerHome(props: ExplorerHomeProps) {
  const { value: headline, live } = useNetworkStream(props.headline);
  const [models, setModels] = useState(props.models);
  const version = headline.takenAt;

  useEffect(() => {
    if (version === props.headline.takenAt) return;
    const controller = new AbortController();
    fetch("/api/v1/models", { signal: controller.signal })
      .then(async (response) => (response.ok ? setModels(((await response.json()) as { models: ModelMarketWire[] }).models) : undefined))
      .catch(() => undefined); // the table keeps the previous snapshot's rows; the next one retries
    return () => controller.abort();
  }, [version, props.headline.takenAt]);

  if (headline.takenAt === null) {
    return (
      <div className="panel empty" data-testid="explorer-waiting">
        <h1>Network explorer</h1>
        <p>The first snapshot of the network is being taken. This page updates by itself when it is ready.</p>
      </div>
    );
  }
  if (headline.devices.total === 0) {
    return (
      <div className="panel empty" data-testid="explorer-empty">
        <h1>No devices yet</h1>
        <p>When suppliers register machines they appear here. In development, `pnpm dev` seeds a simulated network.</p>
      </div>
    );
  }
  return (
    <>
      <h1>Network explorer</h1>
      <p className="subtitle">
        Every supplier machine, by GPU model and region, from the network snapshot of{" "}
        <time dateTime={headline.takenAt} data-testid="taken-at">{new Date(headline.takenAt).toISOString().slice(11, 19)} UTC</time>{" "}
        <span className={live ? "live-dot on" : "live-dot"} aria-live="polite">{live ? "· live" : "· reconnecting"}</span>
      </p>
      <Tiles headline={headline} />
      <Deployable initial={props.shapes} regions={props.regions} version={version} />
      <div className="grid2">
        <ModelsTable models={models} />
        <RegionMap map={props.map} regions={headline.byRegion} />
      </div>
      <HistoryCharts version={version} models={models} />
    </>
  );
}
