import { DEVICE_SORTS, VERIFICATION_LEVELS } from "@gpumesh/db";
import { CONNECTIVITY_TIER_FIGURES, ConnectivityTier, GPU_MODEL_IDS, REGION_IDS } from "@gpumesh/core";
import { z } from "zod";
import { Page, PageQuery } from "../pagination.ts";
import { Amount, Timestamp } from "./common.ts";

/*
 * The explorer's public directory: devices, a device's evidence, suppliers, transactions (issue #12).
 * Query values are lower-case words so a filtered table's URL reads well when shared
 * (/devices?model=h100-80gb&status=online&sort=price).
 */

const STATUSES = ["registered", "online", "offline", "suspended"] as const;
const NETWORKS = ["gpumesh", "render", "filecoin", "aethir"] as const;
const oneOf = (values: readonly string[]) => ({ message: `one of ${values.join(", ")}` });

export const DeviceListQuery = PageQuery.extend({
  q: z.string().trim().max(100, "at most 100 characters").optional().describe("A device or supplier id, a supplier's wallet or on-chain address, or part of a device or supplier name"),
  model: z.enum(GPU_MODEL_IDS, oneOf(["a GPU model id such as h100-80gb"])).optional().describe("GPU model id (catalogue)"),
  region: z.enum(REGION_IDS, oneOf(REGION_IDS)).optional().describe("Region id"),
  status: z.enum(STATUSES, oneOf(STATUSES)).optional().describe("Device status"),
  network: z.enum(NETWORKS, oneOf(NETWORKS)).optional().describe("Supplier network the device came from"),
  verification: z.enum(VERIFICATION_LEVELS, oneOf(VERIFICATION_LEVELS)).optional().describe("unverified: score under 5,000 bps (not rented out); verified: 5,000 bps or more; trusted: 9,000 bps or more"),
  sort: z.enum(DEVICE_SORTS, oneOf(DEVICE_SORTS)).default("newest").describe("newest first, cheapest ask first (price), or most GPUs first (gpus)"),
  limit: PageQuery.shape.limit.default(25),
});
export type DeviceListQuery = z.infer<typeof DeviceListQuery>;

export const DeviceIdParams = z.object({ deviceId: z.uuid("not a device id").describe("Device id") });
export const EvidenceQuery = PageQuery;
export const SupplierParams = z.object({
  supplierId: z
    .string()
    .regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[1-9A-HJ-NP-Za-km-z]{32,44})$/i, "not a supplier id, wallet or on-chain supplier address")
    .describe("Supplier id, its wallet, or its on-chain Supplier account (base58)"),
});
export const SignatureParams = z.object({ signature: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/, "not a transaction signature (base58)").describe("Transaction signature (base58)") });

const Status = z.enum(["REGISTERED", "ONLINE", "OFFLINE", "SUSPENDED"]).describe("REGISTERED (joined, not yet proven), ONLINE, OFFLINE (no heartbeat) or SUSPENDED");
const Network = z.enum(["GPUMESH", "RENDER", "FILECOIN", "AETHIR"]).describe("Supplier network");
const Level = z.enum(VERIFICATION_LEVELS).describe("From the proof-of-work score: unverified < 5,000 bps ≤ verified < 9,000 bps ≤ trusted");
const TokenAmounts = z.object({ USDC: Amount, MESH: Amount }).describe("Per payment token, base units");

export const DirectoryDeviceView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    status: Status,
    gpuModelId: z.string().nullable().describe("Catalogue GPU model; null for a CPU device"),
    gpuCount: z.number().int(),
    vramGb: z.number().int().describe("Memory per GPU"),
    cpuCores: z.number().int(),
    ramGb: z.number().int(),
    region: z.string(),
    country: z.string(),
    city: z.string(),
    network: Network,
    connectivityTier: ConnectivityTier.describe(`From the bandwidth measured at join. ${CONNECTIVITY_TIER_FIGURES}`),
    pricePerGpuHour: Amount.describe("The supplier's ask per GPU-hour, USDC base units"),
    verificationScoreBps: z.number().int(),
    verificationLevel: Level,
    lastHeartbeatAt: Timestamp.nullable(),
    createdAt: Timestamp,
    supplier: z.object({ id: z.uuid(), name: z.string() }),
  })
  .meta({ id: "DirectoryDevice" });

export const DeviceListResponse = Page(DirectoryDeviceView).extend({
  matches: z.object({ count: z.number().int(), atLeast: z.boolean().describe("true when more match than `count` (counting stops at 1,000)") }),
});

export const DeviceCheckView = z
  .object({
    id: z.uuid(),
    kind: z.enum(["CPU_GEMM", "GPU_GEMM"]),
    matrixSize: z.number().int().describe("n of the n×n integer GEMM"),
    seed: z.string().describe("The verifier's seed (hex): A and B derive from it"),
    root: z.string().nullable().describe("Merkle root of C's rows the agent committed to (hex)"),
    rowsOpened: z.array(z.number().int()).describe("Rows the verifier asked for after the commitment and recomputed"),
    elapsedMs: z.number().int().nullable().describe("Time the agent reported"),
    status: z.enum(["PENDING", "PASSED", "FAILED", "EXPIRED"]),
    failureReason: z.string().nullable(),
    issuedAt: Timestamp,
    respondedAt: Timestamp.nullable(),
  })
  .meta({ id: "DeviceCheck" });

export const EvidenceResponse = Page(DeviceCheckView);

export const PublicDeviceView = z
  .object({
    device: DirectoryDeviceView.omit({ supplier: true }).extend({
      statusReason: z.string().describe("Why the device is in its status, for people"),
      cpuModel: z.string(),
      diskGb: z.number().int(),
      bandwidthUpMbps: z.number().int(),
      bandwidthDownMbps: z.number().int(),
      securityTier: z.string(),
      verifiedAt: Timestamp.nullable(),
    }),
    supplier: z.object({ id: z.uuid(), name: z.string(), network: Network, registeredOnChain: z.boolean() }),
    uptime: z.object({
      days: z.array(z.object({ day: z.string().describe("UTC day"), uptimeBps: z.number().int().nullable().describe("Share of the day online (bps); null before the device existed") })).describe("The last 30 days, oldest first"),
      last7dBps: z.number().int().nullable(),
      last30dBps: z.number().int().nullable(),
    }),
    checks: z.object({ checks: z.array(DeviceCheckView), nextCursor: z.string().nullable().describe("More at /api/v1/devices/{deviceId}/evidence?cursor=…") }),
    leases: z
      .array(
        z.object({
          leaseId: Amount.nullable().describe("On-chain lease id"),
          clusterType: z.string(),
          gpuCount: z.number().int(),
          pricePerGpuHour: Amount,
          token: z.enum(["USDC", "MESH"]),
          startsAt: Timestamp,
          endsAt: Timestamp,
          billedFrom: Timestamp.nullable(),
          billedUntil: Timestamp.nullable(),
          state: z.enum(["serving", "ended"]),
          renter: z.string().describe("The renter's wallet, truncated"),
          openedSignature: z.string().nullable().describe("The transaction that paid the lease"),
        }),
      )
      .describe("The 20 most recent leases it served"),
    epochs: z.array(z.object({ epoch: z.number().int(), hourStart: Timestamp, gpuSeconds: Amount, weightBps: z.number().int(), uptimeBps: z.number().int(), amount: Amount.describe("MESH base units") })).describe("The 48 most recent reward epochs it earned in"),
    totals: z.object({ leaseGross: TokenAmounts.describe("Billed to renters for its time (before the protocol fee)"), rewards: Amount.describe("MESH base units, all epochs"), leases: z.number().int() }),
  })
  .meta({ id: "PublicDevice" });

export const PublicSupplierView = z
  .object({
    supplier: z.object({ id: z.uuid(), name: z.string(), network: Network, onChainAddress: z.string().nullable(), wallet: z.string().describe("Truncated"), createdAt: Timestamp, registeredSignature: z.string().nullable().describe("The register_supplier transaction, when indexed") }),
    totals: z.object({ devices: z.number().int(), online: z.number().int(), gpus: z.number().int(), onlineGpus: z.number().int(), leaseGross: TokenAmounts, rewards: Amount }),
    earnings: z.array(z.object({ day: z.string(), leaseGross: TokenAmounts, rewards: Amount })).describe("The last 30 UTC days"),
    devices: DeviceListResponse.describe("Its first page of devices, newest first; more at /api/v1/devices?q={supplierId}"),
  })
  .meta({ id: "PublicSupplier" });

export const TransactionView = z
  .object({
    signature: z.string(),
    slot: Amount.describe("Slot"),
    blockTime: Timestamp.nullable(),
    events: z.array(
      z.object({
        index: z.number().int(),
        name: z.string().describe("Program event (programs/gpumesh/src/events.rs)"),
        token: z.enum(["USDC", "MESH"]).nullable(),
        amounts: z.array(z.object({ field: z.string(), units: Amount })),
        fields: z.array(z.object({ field: z.string(), value: z.string() })),
        supplier: z.object({ id: z.uuid(), name: z.string() }).nullable(),
        devices: z.array(z.object({ id: z.uuid(), name: z.string() })),
        leaseId: Amount.nullable(),
      }),
    ),
  })
  .meta({ id: "ChainTransaction" });
