import { CONNECTIVITY_TIER_RANK, SECURITY_TIER_RANK, type ConnectivityTier, type SecurityTier, type SupplierNetwork } from "../schemas/enums.ts";
import { requiredSecurityRank } from "./types.ts";

/**
 * Free GPUs of one market (model × region) that share the attributes a request filters on besides
 * model and region, with the cheapest price among them (the availability API's `segments`). Amounts
 * are whatever the caller holds: bigint on the server, decimal strings on the wire.
 */
export interface FreeSegment<Amount = bigint> {
  connectivityTier: ConnectivityTier;
  securityTier: SecurityTier;
  network: SupplierNetwork;
  runsImages: boolean;
  freeGpus: number;
  pricePerGpuHour: Amount;
}

/** The options of a request that segments are filtered on (what the matcher checks, `runtime` included). */
export interface SegmentFilter {
  connectivityTier: ConnectivityTier;
  encryptedTraffic: boolean;
  complianceOnly: boolean;
  supplierNetworks: readonly SupplierNetwork[];
  /** The cluster brings a container image: only devices whose agents run images. */
  needsImages: boolean;
}

/** Whether devices of this segment can serve the request: the same rules as the matcher's filters. */
export function segmentServes(segment: Omit<FreeSegment<unknown>, "freeGpus" | "pricePerGpuHour">, filter: SegmentFilter): boolean {
  return (
    CONNECTIVITY_TIER_RANK[segment.connectivityTier] >= CONNECTIVITY_TIER_RANK[filter.connectivityTier] &&
    SECURITY_TIER_RANK[segment.securityTier] >= requiredSecurityRank(filter) &&
    filter.supplierNetworks.includes(segment.network) &&
    (!filter.needsImages || segment.runsImages)
  );
}

/** Free GPUs and the cheapest price per GPU-hour (null when none) of the segments that serve `filter`. */
export function freeFor<Amount extends bigint | string>(segments: readonly FreeSegment<Amount>[], filter: SegmentFilter): { freeGpus: number; pricePerGpuHour: Amount | null } {
  let freeGpus = 0;
  let cheapest: Amount | null = null;
  for (const segment of segments) {
    if (!segmentServes(segment, filter)) continue;
    freeGpus += segment.freeGpus;
    if (cheapest === null || BigInt(segment.pricePerGpuHour) < BigInt(cheapest)) cheapest = segment.pricePerGpuHour;
  }
  return { freeGpus, pricePerGpuHour: cheapest };
}
