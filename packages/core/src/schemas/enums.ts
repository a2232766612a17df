import { z } from "zod";

// Domain enumerations. The database enums in prisma/schema.prisma carry the same values; a test in
// packages/db keeps them identical.
export const SupplierNetwork = z.enum(["GPUMESH", "RENDER", "FILECOIN", "AETHIR"]);
export type SupplierNetwork = z.infer<typeof SupplierNetwork>;
/** Each supplier network's name and what renting from it means, for the forms that offer the choice. */
export const SUPPLIER_NETWORKS: readonly { network: SupplierNetwork; name: string; explanation: string }[] = [
  { network: "GPUMESH", name: "GPUMesh", explanation: "Machines whose owners joined GPUMesh directly with the node agent." },
  { network: "RENDER", name: "Render", explanation: "GPUs of Render Network node operators, also serving GPUMesh." },
  { network: "FILECOIN", name: "Filecoin", explanation: "GPUs of Filecoin storage providers, also serving GPUMesh." },
  { network: "AETHIR", name: "Aethir", explanation: "Aethir's enterprise GPU suppliers, also serving GPUMesh." },
];

/** STANDARD < ENCRYPTED (end-to-end encrypted traffic) < COMPLIANCE (audited, SOC 2 / HIPAA-grade). */
export const SecurityTier = z.enum(["STANDARD", "ENCRYPTED", "COMPLIANCE"]);
export type SecurityTier = z.infer<typeof SecurityTier>;

/**
 * io.net's four connectivity tiers, LOW < MEDIUM < HIGH < ULTRA_HIGH: figures, labels and the rule in
 * CONNECTIVITY_TIERS and connectivityTierFor below. A device's tier is measured, never declared.
 */
export const ConnectivityTier = z.enum(["LOW", "MEDIUM", "HIGH", "ULTRA_HIGH"]);
export type ConnectivityTier = z.infer<typeof ConnectivityTier>;

export const DeviceStatus = z.enum(["REGISTERED", "ONLINE", "OFFLINE", "SUSPENDED"]);
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const ClusterType = z.enum(["RAY", "KUBERNETES", "CONTAINER", "BARE_METAL"]);
export type ClusterType = z.infer<typeof ClusterType>;

export const BillingPeriod = z.enum(["HOURLY", "DAILY", "WEEKLY"]);
export type BillingPeriod = z.infer<typeof BillingPeriod>;

export const PaymentToken = z.enum(["USDC", "MESH"]);
export type PaymentToken = z.infer<typeof PaymentToken>;

export const ClusterStatus = z.enum([
  "REQUESTED",
  "PAID",
  "MATCHING",
  "DEPLOYING",
  "RUNNING",
  "DEGRADED",
  "ENDING",
  "ENDED",
  "FAILED",
  "REFUNDED",
]);
export type ClusterStatus = z.infer<typeof ClusterStatus>;

/** Ordering helpers: a device satisfies a requirement when its tier is at least the required one. */
export const SECURITY_TIER_RANK: Record<SecurityTier, number> = { STANDARD: 0, ENCRYPTED: 1, COMPLIANCE: 2 };
export const CONNECTIVITY_TIER_RANK: Record<ConnectivityTier, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, ULTRA_HIGH: 3 };

export interface ConnectivityTierSpec {
  tier: ConnectivityTier;
  /** What a person reads wherever a tier is shown or chosen. */
  label: string;
  /** Measured download and upload minimums in megabytes per second (io.net's figures). */
  minDownMBps: number;
  minUpMBps: number;
  /** One line for the deploy form: what the tier promises. */
  explanation: string;
}

/**
 * The one table of connectivity tiers (io.net's: ultra-high 1,600/1,200, high 800/600, medium 400/300,
 * low 100/10 MB/s download/upload), lowest first. The web app's labels and explanations come from here.
 *
 * LOW is the floor, not a minimum: a device whose measured link does not reach 100/10 MB/s is still
 * classed LOW (the hardware floor, docs/hardware-floor.md, is what keeps slow links out), so asking
 * for LOW asks for any device. Its label therefore promises nothing it cannot keep.
 */
export const CONNECTIVITY_TIERS: readonly ConnectivityTierSpec[] = [
  { tier: "LOW", label: "Low (any link)", minDownMBps: 100, minUpMBps: 10, explanation: "Every device; most reach 100/10 MB/s download/upload." },
  { tier: "MEDIUM", label: "Medium (≥ 400 / 300 MB/s)", minDownMBps: 400, minUpMBps: 300, explanation: "At least 400 MB/s download and 300 MB/s upload, measured by GPUMesh (not declared)." },
  { tier: "HIGH", label: "High (≥ 800 / 600 MB/s)", minDownMBps: 800, minUpMBps: 600, explanation: "At least 800 MB/s download and 600 MB/s upload, measured." },
  { tier: "ULTRA_HIGH", label: "Ultra-high (≥ 1,600 / 1,200 MB/s)", minDownMBps: 1_600, minUpMBps: 1_200, explanation: "At least 1,600 MB/s download and 1,200 MB/s upload, measured: for multi-node training." },
];

/** The tiers in one sentence, for API descriptions: "LOW: every device; MEDIUM: ≥ 400 / 300 MB/s download / upload; …". */
export const CONNECTIVITY_TIER_FIGURES = `${CONNECTIVITY_TIERS.map((t) =>
  t.tier === "LOW" ? "LOW: every device" : `${t.tier}: ≥ ${t.minDownMBps.toLocaleString("en-US")} / ${t.minUpMBps.toLocaleString("en-US")} MB/s download / upload`,
).join("; ")} (measured by GPUMesh, not declared).`;

export function connectivityTierSpec(tier: ConnectivityTier): ConnectivityTierSpec {
  return CONNECTIVITY_TIERS[CONNECTIVITY_TIER_RANK[tier]]!;
}

/** Bits per byte: bandwidth is measured in megabits per second, the tiers are in megabytes per second. */
const BITS_PER_BYTE = 8;

/** A measured Mbps figure in whole MB/s, rounded down (so it never reads as reaching a tier it misses). */
export function megabytesPerSecond(mbps: number): number {
  return Math.floor(mbps / BITS_PER_BYTE);
}

/**
 * The highest tier whose download AND upload minimums the measured link meets; LOW when it meets
 * none (LOW is the floor, see CONNECTIVITY_TIERS). Compared in whole Mbps (MB/s × 8), never divided,
 * so a link exactly at a minimum is in the tier.
 */
export function connectivityTierFor(link: { bandwidthDownMbps: number; bandwidthUpMbps: number }): ConnectivityTier {
  for (let rank = CONNECTIVITY_TIERS.length - 1; rank > 0; rank--) {
    const spec = CONNECTIVITY_TIERS[rank]!;
    if (link.bandwidthDownMbps >= spec.minDownMBps * BITS_PER_BYTE && link.bandwidthUpMbps >= spec.minUpMBps * BITS_PER_BYTE) return spec.tier;
  }
  return "LOW";
}
