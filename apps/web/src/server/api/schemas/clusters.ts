import { z } from "zod";
import { Amount, BpsString, Timestamp } from "./common.ts";

export const ClusterParams = z.object({ clusterId: z.string().uuid("must be a cluster id (UUID)") });
export const QuoteParams = z.object({ quoteId: z.string().uuid("must be a quote id (UUID)") });

/** A wallet-signed transaction, base64 wire format (at most one Solana packet). */
export const SignedTransaction = z.string().min(1).max(1_700).regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64").describe("The wallet-signed transaction (base64)");

export const PayBody = z.object({ transaction: SignedTransaction });

export const ExtensionBody = z.object({
  hours: z.number({ error: "must be a number of hours" }).int("must be whole hours").min(1, "must be at least 1").max(24 * 30, "must be at most 720 (30 days) per extension").describe("Hours to add at the same price"),
});
export const ExtensionPayBody = ExtensionBody.extend({ transaction: SignedTransaction });

// -- responses (what the handlers return, as JSON: bigints are decimal strings, times ISO strings) --------


const QuotedDevice = z.object({ deviceId: z.uuid(), supplierId: z.uuid(), gpuModelId: z.string(), region: z.string(), gpuCount: z.number().int(), askPerGpuHour: Amount.describe("The device's ask per GPU-hour (USDC base units)"), surgeBps: BpsString });
const MarketLoad = z.object({ gpuModelId: z.string(), region: z.string(), onlineGpus: z.number().int(), busyGpus: z.number().int(), utilisationBps: BpsString, surgeBps: BpsString });
const QuoteBreakdown = z
  .looseObject({
    token: z.enum(["USDC", "MESH"]),
    gpuCount: z.number().int(),
    durationHours: z.number().int(),
    seconds: Amount,
    gpuHours: Amount,
    floorPerGpuHour: Amount,
    surgeBps: BpsString,
    ratePerGpuSecond: Amount,
    pricePerGpuHour: Amount,
    pricePerSecond: Amount,
    total: Amount.describe("The deposit: the only amount the renter pays"),
    feeBps: BpsString,
    burnBps: BpsString,
    fee: Amount,
    burn: Amount,
    treasury: Amount,
    suppliers: Amount,
    hyperscaler: z.looseObject({}).nullable().describe("What a hyperscaler lists for the same GPUs, when one rents the model"),
  })
  .meta({ id: "QuoteBreakdown" });

/** A workload as it may be shown again (core workloadView): env names, never their values. */
export const WorkloadViewResponse = z
  .object({
    image: z.string().nullable().describe("The renter's image; null: the suppliers' default for the type (a bare-metal node's machine image)"),
    command: z.array(z.string()).nullable(),
    envNames: z.array(z.string()).describe("The environment variables set; their values are never returned"),
    ports: z.array(z.number().int()),
    sshPublicKey: z.string().nullable(),
  })
  .meta({ id: "WorkloadView" });

export const HeldQuoteResponse = z
  .object({
    clusterId: z.uuid().describe("The quoted cluster: pay it to deploy"),
    createdAt: Timestamp,
    expiresAt: Timestamp.describe("Devices are held until then"),
    request: z.looseObject({}).describe("The configuration as the server read it (defaults filled in), without its workload"),
    workload: WorkloadViewResponse.nullable().describe("What runs on each node; null: the suppliers' default for the type"),
    devices: z.array(QuotedDevice),
    markets: z.array(MarketLoad),
    breakdown: QuoteBreakdown,
    superseded: z.array(z.uuid()).describe("Older quotes of yours released to stay within the cap"),
  })
  .meta({ id: "HeldQuote" });

export const QuoteViewResponse = z
  .object({
    clusterId: z.uuid(),
    renterId: z.uuid(),
    status: z.string(),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    held: z.boolean().describe("Still holding its devices"),
    paymentToken: z.enum(["USDC", "MESH"]),
    gpuCount: z.number().int(),
    durationHours: z.number().int(),
    pricePerSecond: Amount,
    depositAmount: Amount,
    devices: z.array(QuotedDevice).nullable(),
    markets: z.array(MarketLoad).nullable(),
    breakdown: QuoteBreakdown.nullable(),
    heldDeviceIds: z.array(z.uuid()),
  })
  .meta({ id: "Quote" });

export const UnsignedOrder = z
  .object({
    transaction: z.string().describe("The unsigned transaction (base64) for your wallet to sign"),
    amount: Amount.describe("What it moves from your wallet"),
    token: z.enum(["USDC", "MESH"]),
  })
  .meta({ id: "UnsignedOrder" });
export const QuoteOrderResponse = UnsignedOrder.extend({ expiresAt: Timestamp.nullable() });
export const ExtensionOrderResponse = UnsignedOrder.extend({ newEndsAt: Timestamp });

export const PaidQuoteResponse = z.object({ clusterId: z.uuid(), signature: z.string(), amount: Amount, token: z.enum(["USDC", "MESH"]), status: z.string() });
export const PaidExtensionResponse = z.object({ signature: z.string(), amount: Amount, endsAt: Timestamp.nullable(), extended: z.boolean() });
export const TerminatedResponse = z.object({ clusterId: z.uuid(), endRequestedAt: Timestamp.nullable(), status: z.string() });

export const ClusterListItem = z
  .object({
    id: z.uuid(),
    name: z.string(),
    status: z.string(),
    gpuCount: z.number().int(),
    gpuModelIds: z.array(z.string()),
    regions: z.array(z.string()),
    paymentToken: z.enum(["USDC", "MESH"]),
    depositAmount: Amount,
    createdAt: Timestamp,
    endsAt: Timestamp.nullable(),
  })
  .meta({ id: "ClusterSummary" });

export const ClusterDetailResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    type: z.string(),
    status: z.string(),
    gpuCount: z.number().int(),
    gpuModelIds: z.array(z.string()),
    regions: z.array(z.string()),
    durationHours: z.number().int(),
    paymentToken: z.enum(["USDC", "MESH"]),
    pricePerSecond: Amount,
    depositAmount: Amount,
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    endsAt: Timestamp.nullable(),
    endedAt: Timestamp.nullable(),
    endRequestedAt: Timestamp.nullable(),
    secondsLeft: z.number().int().nullable().describe("Seconds until the paid end; null before it starts"),
    costSoFar: Amount,
    nodes: z.array(
      z.object({
        allocationId: z.uuid(),
        deviceName: z.string(),
        gpuModel: z.string().nullable(),
        gpuCount: z.number().int(),
        region: z.string(),
        city: z.string(),
        supplier: z.string(),
        state: z.enum(["deploying", "serving", "released"]),
        releaseReason: z.string().nullable(),
        ratePerSecond: Amount.nullable(),
        servedSeconds: Amount,
        endpoints: z.array(z.object({ kind: z.string(), url: z.string() })),
        rayRole: z.enum(["head", "worker"]).nullable().describe("RAY clusters: the Ray head (its dashboard is among its endpoints) or a worker that joins it; null for other types"),
      }),
    ),
    timeline: z.array(z.object({ id: z.string(), from: z.string().nullable(), to: z.string(), reason: z.string(), at: Timestamp })),
    receipts: z.array(z.object({ kind: z.string(), amount: Amount, token: z.enum(["USDC", "MESH"]), signature: z.string(), at: Timestamp.nullable() })),
    usage: z.array(z.object({ periodStart: Timestamp, gpuSeconds: Amount, amount: Amount })),
    settled: Amount,
    workload: WorkloadViewResponse.nullable().describe("What runs on each node; null: the suppliers' default for the type"),
  })
  .meta({ id: "Cluster" });

/** Server-sent events: `data:` lines, each a Cluster. */
export const ClusterEventStream = z.string().describe("text/event-stream: one `data:` line with the Cluster JSON now and after every change, until the cluster is over");
