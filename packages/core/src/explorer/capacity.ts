/**
 * "Deployable now, by shape": how many clusters of N GPUs of one model the free devices could host
 * this minute, counted the way deploys would take them.
 *
 * Method. Devices are leased whole, so a cluster of N GPUs is a set of free devices whose GPU counts sum
 * to exactly N (a 16-GPU machine cannot serve an 8-GPU request). The matcher (matching/select.ts,
 * `placeFrom`) picks, per region, the fewest-devices mix of sizes (`deviceMix`), and only spreads a
 * cluster over several regions when no single region can host it. Counting therefore runs the same
 * steps as consecutive deploys of the shape: in each region, take `deviceMix` of what is left until
 * none fits; then, for "any region", pool every region's leftovers and take mixes from the pool. The
 * count is the number of disjoint gangs taken. One-node clusters are the free devices of exactly N GPUs.
 *
 * A mix found once is taken as many times as it still fits in one step: `deviceMix` is the best mix
 * over what is available, and a mix that is still available stays the best over the smaller remainder
 * (the test checks this against taking one at a time). What this does not model: the matcher may prefer
 * a mix on a single supplier site (co-location), which uses the same total but may use other sizes;
 * and price caps, security and supplier-network filters (a shape counts every free device of the tier).
 */
import { deviceMix, MAX_GPUS_PER_DEVICE } from "../matching/select.ts";

/** `sizes[k]`: free devices with exactly k GPUs (index 0 unused), k ≤ MAX_GPUS_PER_DEVICE. */
export type SizeCounts = readonly number[];

export const emptySizes = (): number[] => new Array<number>(MAX_GPUS_PER_DEVICE + 1).fill(0);

export interface Deployable {
  /** Clusters of the shape that fit on one device each. */
  singleNode: number;
  /** Clusters of the shape on any number of devices (one-node ones included). */
  anyNodes: number;
  /** Free GPUs counted. */
  freeGpus: number;
}

/** Takes gangs of `total` GPUs from `left` (mutated: what is left afterwards) and returns how many. */
function takeGangs(left: number[], total: number): number {
  let gangs = 0;
  for (;;) {
    const mix = deviceMix(left, total);
    if (mix === null) return gangs;
    let repeat = Infinity;
    for (let k = 1; k < mix.length; k++) if (mix[k]! > 0) repeat = Math.min(repeat, Math.floor(left[k]! / mix[k]!));
    for (let k = 1; k < mix.length; k++) left[k]! -= mix[k]! * repeat;
    gangs += repeat;
  }
}

/** Gangs of `total` GPUs that fit on `sizes` (left untouched). */
export function gangsThatFit(sizes: SizeCounts, total: number): number {
  if (total <= 0) throw new RangeError(`total must be positive, got ${total}`);
  return takeGangs([...sizes], total);
}

function freeGpus(sizes: SizeCounts): number {
  let gpus = 0;
  for (let k = 1; k < sizes.length; k++) gpus += k * sizes[k]!;
  return gpus;
}

/**
 * Deployable clusters of `total` GPUs per region and over all regions (one region first, then the
 * pooled leftovers, as the matcher spreads only what no single region can host).
 */
export function deployableByRegion(regions: ReadonlyMap<string, SizeCounts>, total: number): { byRegion: Map<string, Deployable>; anyRegion: Deployable } {
  const byRegion = new Map<string, Deployable>();
  const pooled = emptySizes();
  const anyRegion: Deployable = { singleNode: 0, anyNodes: 0, freeGpus: 0 };
  for (const [region, sizes] of regions) {
    const left = [...sizes];
    while (left.length < pooled.length) left.push(0);
    const anyNodes = takeGangs(left, total);
    const singleNode = total <= MAX_GPUS_PER_DEVICE ? (sizes[total] ?? 0) : 0;
    const gpus = freeGpus(sizes);
    byRegion.set(region, { singleNode, anyNodes, freeGpus: gpus });
    anyRegion.singleNode += singleNode;
    anyRegion.anyNodes += anyNodes;
    anyRegion.freeGpus += gpus;
    for (let k = 1; k < pooled.length; k++) pooled[k]! += left[k]!;
  }
  anyRegion.anyNodes += takeGangs(pooled, total);
  return { byRegion, anyRegion };
}
