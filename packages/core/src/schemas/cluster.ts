import { z } from "zod";
import { BaseUnits, GpuModelId, RegionId } from "./common.ts";
import { BillingPeriod, ClusterType, CONNECTIVITY_TIER_FIGURES, ConnectivityTier, PaymentToken, SupplierNetwork } from "./enums.ts";
import { Workload } from "./workload.ts";

/** The renter's cluster configuration: the quote form, the API body and the matcher's input. */
export const ClusterRequest = z.object({
  name: z.string().trim().min(1).max(80),
  type: ClusterType,
  /** Acceptable GPU models ("any of"). */
  gpuModelIds: z.array(GpuModelId).min(1).max(8),
  gpuCount: z.number().int().min(1).max(1024),
  minVramGb: z.number().int().min(0).max(1024).default(0),
  regions: z.array(RegionId).min(1).max(16),
  /** The lowest acceptable connectivity tier: devices of that tier or better. */
  connectivityTier: ConnectivityTier.default("LOW").describe(`Lowest acceptable connectivity tier; devices of that tier or better. ${CONNECTIVITY_TIER_FIGURES}`),
  encryptedTraffic: z.boolean().default(false),
  complianceOnly: z.boolean().default(false),
  supplierNetworks: z.array(SupplierNetwork).min(1).default(["GPUMESH"]),
  durationHours: z.number().int().min(1).max(24 * 90),
  billingPeriod: BillingPeriod.default("HOURLY"),
  paymentToken: PaymentToken.default("USDC"),
  /** Highest acceptable price per GPU-hour in base units of paymentToken; none means market price. */
  maxPricePerGpuHour: BaseUnits.optional(),
  /** What runs on every node; without one, each supplier's agent runs its default for the cluster type. */
  workload: Workload.optional(),
});
export type ClusterRequest = z.infer<typeof ClusterRequest>;
export type ClusterRequestInput = z.input<typeof ClusterRequest>;
