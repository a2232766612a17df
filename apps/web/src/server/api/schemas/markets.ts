import { ConnectivityTier, PaymentToken, SecurityTier, SupplierNetwork } from "@gpumesh/core";
import { z } from "zod";
import { Amount, BpsString } from "./common.ts";

export const AvailabilityQuery = z.object({ token: PaymentToken.default("USDC").describe("Prices in this token") });

export const MarketAvailability = z
  .object({
    gpuModelId: z.string().describe("GPU model id (catalogue)"),
    region: z.string().describe("Region id"),
    onlineGpus: z.number().int().describe("GPUs on online devices"),
    busyGpus: z.number().int().describe("GPUs leased, deploying or held for a quote now"),
    freeGpus: z.number().int().describe("GPUs free now and verified enough to be quoted"),
    utilisationBps: BpsString,
    surgeBps: BpsString.describe("Surge over the asks, basis points"),
    cheapestAskPerGpuHour: Amount.nullable().describe("Lowest ask per GPU-hour among free devices (USDC base units); null when none is free"),
    pricePerGpuHour: Amount.nullable().describe("What a one-device quote would cost per GPU-hour now, in the requested token"),
    hyperscalerPricePerGpuHour: Amount.nullable().describe("A hyperscaler's list price per GPU-hour, in the requested token"),
    segments: z
      .array(
        z.object({
          connectivityTier: ConnectivityTier,
          securityTier: SecurityTier,
          network: SupplierNetwork,
          runsImages: z.boolean().describe("The devices' agents run container images (needed by a cluster with workload.image)"),
          freeGpus: z.number().int(),
          cheapestAskPerGpuHour: Amount.describe("Lowest ask per GPU-hour among them (USDC base units)"),
          pricePerGpuHour: Amount.describe("What a one-device quote on the cheapest of them would cost per GPU-hour now, in the requested token"),
        }),
      )
      .describe("The free GPUs split by the other options a request filters on (connectivity, security, supplier network, runtime), so any combination can be counted and priced"),
  })
  .meta({ id: "MarketAvailability" });

export const AvailabilityResponse = z.object({ markets: z.array(MarketAvailability) });

const Counts = z.object({ total: z.number().int(), online: z.number().int(), hired: z.number().int() });
export const NetworkSummaryResponse = z
  .object({
    suppliers: z.number().int(),
    devices: Counts,
    gpus: Counts,
    byModel: z.array(z.object({ gpuModelId: z.string(), name: z.string(), devices: z.number().int(), gpus: z.number().int(), onlineGpus: z.number().int(), minPricePerGpuHour: Amount.nullable() })),
    byRegion: z.array(z.object({ region: z.string(), devices: z.number().int(), gpus: z.number().int(), onlineGpus: z.number().int() })),
  })
  .meta({ id: "NetworkSummary" });
