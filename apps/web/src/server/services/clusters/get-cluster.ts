import "server-only";
import type { WorkloadView } from "@gpumesh/core";
import { floorSecond, leaseEnd, storedWorkloadView, type ClusterStatus, type PaymentKind, type PaymentToken } from "@gpumesh/db";
import { notFound } from "../../api/errors.ts";
import { env } from "../../../env.ts";
import { db } from "../../db.ts";
import { redis } from "../../redis.ts";

/** One node of a cluster as its renter sees it. */
export interface ClusterNode {
  allocationId: string;
  deviceName: string;
  gpuModel: string | null;
  gpuCount: number;
  region: string;
  city: string;
  supplier: string;
  /** deploying (waiting for the agent), serving, released (with its reason). */
  state: "deploying" | "serving" | "released";
  releaseReason: string | null;
  ratePerSecond: bigint | null;
  servedSeconds: bigint;
  /** How to reach it (Ray dashboard, Jupyter, SSH, URL), as its agent reported; only while serving. */
  endpoints: { kind: string; url: string }[];
  /** RAY clusters: the Ray head (its dashboard is among its endpoints) or a worker that joins it. */
  rayRole: "head" | "worker" | null;
}

/** An agent-reported address shown to the renter: http(s) or ssh only (never javascript: and the like). */
function safeEndpoint(kind: string, url: string): { kind: string; url: string } | null {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "ssh:"].includes(parsed.protocol) ? { kind, url: parsed.toString() } : null;
  } catch {
    return null;
  }
}

/** The endpoints the gateway recorded per allocation (Redis, `<prefix>:endpoints:<id>`); none if Redis is down. */
async function endpointsOf(allocationIds: string[]): Promise<Map<string, { kind: string; url: string }[]>> {
  const found = new Map<string, { kind: string; url: string }[]>();
  if (allocationIds.length === 0) return found;
  try {
    const pipeline = redis.pipeline();
    for (const id of allocationIds) pipeline.hgetall(`${env.GATEWAY_PREFIX}:endpoints:${id}`);
    const results = (await pipeline.exec()) ?? [];
    allocationIds.forEach((id, i) => {
      const hash = (results[i]?.[1] ?? {}) as Record<string, string>;
      // `ray-head` is the address workers join, internal to the cluster: the renter uses the dashboard.
      const shown = Object.entries(hash).filter(([kind]) => kind !== "ray-head");
      found.set(id, shown.map(([kind, url]) => safeEndpoint(kind, url)).filter((entry): entry is { kind: string; url: string } => entry !== null));
    });
  } catch {
    /* the page still shows everything else */
  }
  return found;
}

export interface ClusterDetail {
  id: string;
  name: string;
  type: string;
  status: ClusterStatus;
  gpuCount: number;
  gpuModelIds: string[];
  regions: string[];
  durationHours: number;
  paymentToken: PaymentToken;
  pricePerSecond: bigint;
  depositAmount: bigint;
  createdAt: Date;
  startedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  endRequestedAt: Date | null;
  /** Seconds until the paid end (0 once past); null before it starts. */
  secondsLeft: number | null;
  /** What the served time has cost so far (Σ per node: rate × seconds served), base units. */
  costSoFar: bigint;
  nodes: ClusterNode[];
  timeline: { id: string; from: ClusterStatus | null; to: ClusterStatus; reason: string; at: Date }[];
  receipts: { kind: PaymentKind; amount: bigint; token: PaymentToken; signature: string; at: Date | null }[];
  usage: { periodStart: Date; gpuSeconds: bigint; amount: bigint }[];
  /** Settled to suppliers so far and what the renter got back, from the ledger's usage rows. */
  settled: bigint;
  workload: WorkloadView | null;
}

const secondsBetween = (from: Date, to: Date) => BigInt(Math.max(0, Math.floor((floorSecond(to).getTime() - floorSecond(from).getTime()) / 1000)));

/** The renter's own cluster, or 404 (another account's cluster is indistinguishable from none). */
export async function getCluster(accountId: string, clusterId: string, now = new Date()): Promise<ClusterDetail> {
  const cluster = await db.cluster.findFirst({
    where: { id: clusterId, renterId: accountId },
    include: {
      allocations: { orderBy: { createdAt: "asc" }, include: { device: { select: { name: true, gpuModelId: true, region: true, city: true, supplier: { select: { name: true } } } } } },
      events: { orderBy: { id: "asc" }, take: 500 },
      payments: { where: { status: "CONFIRMED" }, orderBy: { createdAt: "asc" } },
      usage: { orderBy: { periodStart: "asc" }, select: { periodStart: true, gpuSeconds: true, amount: true } },
    },
  });
  if (!cluster) throw notFound("cluster");
  const end = leaseEnd(cluster);
  const billingNow = end && end < now ? end : now;
  const nodes: ClusterNode[] = cluster.allocations
    // Held-quote allocations released unpaid are not part of what the renter rented.
    .filter((allocation) => allocation.acknowledgedAt || allocation.status === "ACTIVE" || allocation.billedFrom)
    .map((allocation) => {
      const from = allocation.billedFrom;
      const until = allocation.billedUntil ?? billingNow;
      const served = from && until > from ? secondsBetween(from, until) : 0n;
      return {
        allocationId: allocation.id,
        deviceName: allocation.device.name,
        gpuModel: allocation.device.gpuModelId,
        gpuCount: allocation.gpuCount,
        region: allocation.device.region,
        city: allocation.device.city,
        supplier: allocation.device.supplier.name,
        state: allocation.status === "RELEASED" ? "released" : allocation.acknowledgedAt ? "serving" : "deploying",
        releaseReason: allocation.releaseReason,
        ratePerSecond: allocation.ratePerSecond,
        servedSeconds: served,
        endpoints: [] as { kind: string; url: string }[],
        rayRole: allocation.rayRole === "HEAD" ? ("head" as const) : allocation.rayRole === "WORKER" ? ("worker" as const) : null,
      };
    });
  const endpoints = await endpointsOf(nodes.filter((node) => node.state === "serving").map((node) => node.allocationId));
  for (const node of nodes) node.endpoints = endpoints.get(node.allocationId) ?? [];
  const costSoFar = nodes.reduce((sum, node) => sum + (node.ratePerSecond ?? 0n) * node.servedSeconds, 0n);
  // Grouped per hour for the chart: a period's rows (one per node) add up.
  const usage = new Map<number, { periodStart: Date; gpuSeconds: bigint; amount: bigint }>();
  for (const row of cluster.usage) {
    const key = row.periodStart.getTime();
    const entry = usage.get(key) ?? { periodStart: row.periodStart, gpuSeconds: 0n, amount: 0n };
    entry.gpuSeconds += row.gpuSeconds;
    entry.amount += row.amount;
    usage.set(key, entry);
  }
  return {
    id: cluster.id,
    name: cluster.name,
    type: cluster.type,
    status: cluster.status,
    gpuCount: cluster.gpuCount,
    gpuModelIds: cluster.gpuModelIds,
    regions: cluster.regions,
    durationHours: cluster.durationHours,
    paymentToken: cluster.paymentToken,
    pricePerSecond: cluster.pricePerSecond,
    depositAmount: cluster.depositAmount,
    createdAt: cluster.createdAt,
    startedAt: cluster.startedAt,
    endsAt: cluster.endsAt,
    endedAt: cluster.endedAt,
    endRequestedAt: cluster.endRequestedAt,
    secondsLeft: end && cluster.startedAt ? Math.max(0, Math.floor((end.getTime() - now.getTime()) / 1000)) : null,
    costSoFar,
    nodes,
    timeline: cluster.events.map((event) => ({ id: event.id.toString(), from: event.fromStatus, to: event.toStatus, reason: event.reason, at: event.at })),
    receipts: cluster.payments.map((payment) => ({ kind: payment.kind, amount: payment.amount, token: payment.token, signature: payment.txSignature, at: payment.confirmedAt })),
    usage: [...usage.values()],
    settled: cluster.usage.reduce((sum, row) => sum + row.amount, 0n),
    // What may be shown again: the image, command, ports, key, and env names only (never values).
    workload: storedWorkloadView(cluster.workload),
  };
}
