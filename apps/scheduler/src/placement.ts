import { ClusterRequest, naivePlace, type DeviceState, type PlacementResult } from "@gpumesh/core";
import type { Cluster, Db } from "@gpumesh/db";

/**
 * Adapter between Postgres and the matcher in @gpumesh/core. Candidates are read fresh from Postgres
 * for every placement (online, verified enough, no ACTIVE allocation overlapping the period, not
 * excluded): correct first, since Postgres is the truth and several schedulers reserve concurrently.
 * The in-memory PlacementIndex can replace this read once it is fed from heartbeats and reservations;
 * the reservation's exclusion constraint stays the final guard either way.
 */
export interface PlacementQuery {
  cluster: Pick<
    Cluster,
    | "id" | "name" | "type" | "gpuModelIds" | "minVramGb" | "regions" | "connectivityTier" | "encryptedTraffic" | "complianceOnly"
    | "supplierNetworks" | "durationHours" | "billingPeriod" | "paymentToken" | "maxPricePerGpuHour"
  >;
  /** GPUs still needed (the whole cluster, or the part a replacement must cover). */
  gpuCount: number;
  startsAt: Date;
  endsAt: Date;
  excludeDeviceIds: ReadonlySet<string>;
  minVerificationScoreBps: number;
}

export type PlacementOutcome = { ok: true; devices: { deviceId: string; gpuCount: number; pricePerGpuHour: bigint }[] } | { ok: false; reason: string };

interface CandidateRow {
  id: string;
  supplier_id: string;
  city: string;
  gpu_model_id: string;
  gpu_count: number;
  vram_gb: number;
  region: string;
  connectivity_tier: DeviceState["device"]["connectivityTier"];
  security_tier: DeviceState["device"]["securityTier"];
  network: DeviceState["device"]["network"];
  price_per_gpu_hour: bigint;
  verification_score_bps: number;
}

export async function loadCandidates(db: Db, query: PlacementQuery): Promise<DeviceState[]> {
  const rows = await db.$queryRaw<CandidateRow[]>`
    select d.id::text, d.supplier_id::text, d.city, d.gpu_model_id, d.gpu_count, d.vram_gb, d.region,
           d.connectivity_tier::text as connectivity_tier, d.security_tier::text as security_tier, d.network::text as network,
           d.price_per_gpu_hour, d.verification_score_bps
      from device d
     where d.status = 'ONLINE' and d.gpu_count > 0
       and d.gpu_model_id = any(${query.cluster.gpuModelIds}::text[])
       and d.region = any(${query.cluster.regions}::text[])
       and d.verification_score_bps >= ${query.minVerificationScoreBps}
       and not (d.id = any(${[...query.excludeDeviceIds]}::uuid[]))
       and not exists (select 1 from allocation a
                        where a.device_id = d.id and a.status = 'ACTIVE'
                          and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(${query.startsAt}::timestamptz, ${query.endsAt}::timestamptz, '[)'))`;
  return rows.map((row) => ({
    online: true,
    reserved: false,
    device: {
      id: row.id,
      supplierId: row.supplier_id,
      siteKey: `${row.supplier_id}:${row.city}`,
      gpuModelId: row.gpu_model_id,
      gpuCount: row.gpu_count,
      vramGb: row.vram_gb,
      region: row.region,
      connectivityTier: row.connectivity_tier,
      securityTier: row.security_tier,
      network: row.network,
      pricePerGpuHour: BigInt(row.price_per_gpu_hour),
      verificationScoreBps: row.verification_score_bps,
      // No uptime history is stored yet: every candidate ranks equal on uptime.
      uptimeBps: 10_000,
    },
  }));
}

/** The matcher's request for (part of) a cluster; a request that no longer validates is reported, not thrown. */
export function placementRequest(query: PlacementQuery): { ok: true; request: ClusterRequest } | { ok: false; reason: string } {
  const c = query.cluster;
  const parsed = ClusterRequest.safeParse({
    name: c.name,
    type: c.type,
    gpuModelIds: c.gpuModelIds,
    gpuCount: query.gpuCount,
    minVramGb: c.minVramGb,
    regions: c.regions,
    connectivityTier: c.connectivityTier,
    encryptedTraffic: c.encryptedTraffic,
    complianceOnly: c.complianceOnly,
    supplierNetworks: c.supplierNetworks,
    durationHours: c.durationHours,
    billingPeriod: c.billingPeriod,
    paymentToken: c.paymentToken,
    ...(c.maxPricePerGpuHour !== null ? { maxPricePerGpuHour: c.maxPricePerGpuHour } : {}),
  });
  if (!parsed.success) return { ok: false, reason: `cluster request is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` };
  return { ok: true, request: parsed.data };
}

export async function placeCluster(db: Db, query: PlacementQuery): Promise<PlacementOutcome> {
  const request = placementRequest(query);
  if (!request.ok) return request;
  const candidates = await loadCandidates(db, query);
  const result: PlacementResult = naivePlace(candidates, request.request, { seed: query.cluster.id }, { minVerificationScoreBps: query.minVerificationScoreBps });
  if (!result.ok) return { ok: false, reason: result.reason.message };
  return { ok: true, devices: result.devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour })) };
}
