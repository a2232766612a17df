// What the simulated renters ask for: a small, seeded model of demand. Most rentals are small
// (one or two GPUs, an hour), some are a whole 8-GPU node; popular, cheaper markets get more of them.
// Demand backs off as the network fills, so a person trying `pnpm dev` always finds free GPUs.
import type { SeededRandom } from "@gpumesh/core";

/** A row of GET /api/v1/availability (the fields the renters read). */
export interface Market {
  gpuModelId: string;
  region: string;
  onlineGpus: number;
  busyGpus: number;
  freeGpus: number;
  pricePerGpuHour: string | null;
}

export interface DemandSettings {
  /** Above this share of online GPUs busy, no renter starts a new cluster. */
  targetUtilisationBps: number;
  /** Clusters one renter keeps at once. */
  maxClustersPerRenter: number;
}

export const DEFAULT_DEMAND: DemandSettings = { targetUtilisationBps: 3_500, maxClustersPerRenter: 2 };

/** Busy share of the online GPUs, in basis points (0 when nothing is online). */
export function utilisationBps(markets: readonly Market[]): number {
  const online = markets.reduce((sum, m) => sum + m.onlineGpus, 0);
  const busy = markets.reduce((sum, m) => sum + m.busyGpus, 0);
  return online === 0 ? 0 : Math.floor((busy * 10_000) / online);
}

/** GPU counts people rent, by how often. */
const SHAPES = [
  { gpuCount: 1, weight: 45 },
  { gpuCount: 2, weight: 25 },
  { gpuCount: 4, weight: 18 },
  { gpuCount: 8, weight: 12 },
] as const;

export interface PlannedRental {
  gpuCount: number;
  durationHours: number;
  /** Markets to try in order (devices are leased whole, so the first may still be refused). */
  attempts: { gpuModelIds: string[]; regions: string[] }[];
  /** How long to keep it before terminating (ms); past the paid hours it simply expires. */
  keepForMs: number;
  /** Whether to buy one more hour while it runs. */
  extend: boolean;
}

/**
 * The next rental for a renter holding `held` clusters, or the reason there is none. Markets are
 * weighted by their free GPUs and by cheapness (a cheaper market gets more demand, as on any market).
 */
export function planRental(markets: readonly Market[], held: number, random: SeededRandom, settings: DemandSettings = DEFAULT_DEMAND): PlannedRental | { skip: string } {
  if (held >= settings.maxClustersPerRenter) return { skip: `already holding ${held} clusters` };
  const utilisation = utilisationBps(markets);
  if (utilisation >= settings.targetUtilisationBps) return { skip: `network ${(utilisation / 100).toFixed(1)}% busy` };
  const shape = random.weighted(SHAPES, (s) => s.weight);
  const open = markets.filter((m) => m.pricePerGpuHour !== null && m.freeGpus >= shape.gpuCount);
  if (open.length === 0) return { skip: `no market with ${shape.gpuCount} free GPUs` };
  const prices = open.map((m) => BigInt(m.pricePerGpuHour!));
  const dearest = prices.reduce((max, p) => (p > max ? p : max), 0n);
  const attempts: PlannedRental["attempts"] = [];
  const pool = [...open];
  while (pool.length && attempts.length < 4) {
    const market = random.weighted(pool, (m) => Math.sqrt(m.freeGpus) * (1 + Number(dearest - BigInt(m.pricePerGpuHour!)) / Number(dearest || 1n)));
    pool.splice(pool.indexOf(market), 1);
    attempts.push({ gpuModelIds: [market.gpuModelId], regions: [market.region] });
  }
  const durationHours = random.weighted([1, 2, 3], (h) => (h === 1 ? 6 : h === 2 ? 3 : 1));
  // Most are ended early by the renter (the refund path), the rest run out their paid time.
  const keepForMs = random.next() < 0.8 ? random.int(2, 15) * 60_000 : durationHours * 3_600_000 + 60_000;
  return { gpuCount: shape.gpuCount, durationHours, attempts, keepForMs, extend: random.next() < 0.3 };
}
