import { z } from "zod";
import { GpuModelId, RegionId, BaseUnits } from "./common.ts";
import { SecurityTier, SupplierNetwork } from "./enums.ts";

/**
 * The hardware a device reports: what the agent detects and the supplier registers. Shared by the
 * registration API, the dashboard form and the agent's hello message.
 */
export const DeviceSpec = z
  .object({
    name: z.string().trim().min(1).max(80),
    gpuModelId: GpuModelId.nullable(),
    gpuCount: z.number().int().min(0).max(16),
    vramGb: z.number().int().min(0).max(1024),
    cpuModel: z.string().trim().min(1).max(80),
    cpuCores: z.number().int().min(1).max(1024),
    ramGb: z.number().int().min(1).max(16_384),
    diskGb: z.number().int().min(1).max(1_000_000),
    region: RegionId,
    country: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 country code"),
    city: z.string().trim().min(1).max(64),
    bandwidthUpMbps: z.number().int().min(0).max(400_000),
    bandwidthDownMbps: z.number().int().min(0).max(400_000),
    securityTier: SecurityTier.default("STANDARD"),
    network: SupplierNetwork.default("GPUMESH"),
    pricePerGpuHour: BaseUnits,
  })
  .refine((spec) => (spec.gpuCount === 0) === (spec.gpuModelId === null), {
    message: "gpuModelId and gpuCount must both be set (GPU device) or both be empty (CPU device)",
    path: ["gpuModelId"],
  });
export type DeviceSpec = z.infer<typeof DeviceSpec>;
