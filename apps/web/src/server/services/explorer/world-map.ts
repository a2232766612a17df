import "server-only";
import { REGIONS } from "@gpumesh/core";
import { geoNaturalEarth1, geoPath } from "d3-geo";
import type { FeatureCollection, Geometry } from "geojson";
import { feature } from "topojson-client";
import countries110m from "world-atlas/countries-110m.json" with { type: "json" };

export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 470;

export interface WorldMap {
  width: number;
  height: number;
  /** One SVG path per country (Natural Earth 1:110m, bundled from world-atlas: no CDN). */
  countries: string[];
  /** Each region's point on the map, from its coordinates in the catalogue. */
  regions: { id: string; x: number; y: number }[];
}

let cached: WorldMap | null = null;

/**
 * The explorer's world map, projected once per server process: the page ships path strings, not the
 * topology or d3, and the client only draws the regions' markers over them.
 */
export function worldMap(): WorldMap {
  if (cached) return cached;
  const topology = countries110m as unknown as Parameters<typeof feature>[0];
  const land = feature(topology, topology.objects.countries!) as unknown as FeatureCollection<Geometry>;
  const projection = geoNaturalEarth1().fitExtent([[4, 4], [MAP_WIDTH - 4, MAP_HEIGHT - 4]], land);
  const path = geoPath(projection);
  cached = {
    width: MAP_WIDTH,
    height: MAP_HEIGHT,
    countries: land.features.map((country) => path(country) ?? "").filter((d) => d !== ""),
    regions: REGIONS.map((region) => {
      const [x, y] = projection([region.longitude, region.latitude]) ?? [0, 0];
      return { id: region.id, x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 };
    }),
  };
  return cached;
}
