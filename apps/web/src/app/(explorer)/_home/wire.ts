import { formatAmount } from "@gpumesh/core";

/** The explorer API's JSON (bigints as decimal strings, dates as ISO strings), as the page receives it. */
export interface BreakdownWire {
  devices: number;
  gpus: number;
  onlineGpus: number;
  availableGpus: number;
  minPricePerGpuHour: string | null;
  medianPricePerGpuHour: string | null;
  avgPricePerGpuHour: string | null;
}

export interface HeadlineWire {
  takenAt: string | null;
  suppliers: number;
  devices: { total: number; online: number; hired: number };
  gpus: { total: number; verified: number; online: number; hired: number };
  cpus: { verifiedCores: number; onlineCores: number };
  utilisationBps: number;
  clustersRunning: number;
  revenue24h: { USDC: string; MESH: string };
  mesh: { mintedTotal: string; burnedTotal: string; minted24h: string; burned24h: string; circulating: string; emissionProgressBps: number };
  fill24h: { paid: number; filled: number; unfilled: number; fillRateBps: number | null; medianSecondsToRunning: number | null; p90SecondsToRunning: number | null };
  byModel: ({ gpuModelId: string; name: string } & BreakdownWire)[];
  byRegion: ({ region: string; name: string; latitude: number | null; longitude: number | null } & BreakdownWire)[];
}

export interface ShapeWire {
  gpuModelId: string;
  name: string;
  gpuCount: number;
  region: string;
  connectivityTier: string;
  minVerificationBps: number;
  singleNode: number;
  anyNodes: number;
  freeGpus: number;
}

export interface ModelMarketWire extends BreakdownWire {
  gpuModelId: string;
  name: string;
  medianPricePerGpuHour24hAgo: string | null;
  priceHistory: { at: string; medianPricePerGpuHour: string | null }[];
}

export interface WorldMapWire {
  width: number;
  height: number;
  countries: string[];
  regions: { id: string; x: number; y: number }[];
}

export const count = (value: number) => value.toLocaleString("en-US");
export const percent = (bps: number) => `${(bps / 100).toFixed(1)}%`;
/** USDC base units per GPU-hour as "$1.23". */
export const usdPerHour = (units: string | null) => (units === null ? "—" : `$${formatAmount(BigInt(units), "USDC", { minFractionDigits: 2 })}`);
export const usdc = (units: string) => `$${formatAmount(BigInt(units), "USDC", { minFractionDigits: 2 })}`;
/** MESH base units, whole tokens. */
export const mesh = (units: string) => `${(BigInt(units) / 1_000_000n).toLocaleString("en-US")} MESH`;
export const duration = (seconds: number | null) => (seconds === null ? "—" : seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`);
