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

/** Field and row separators of the packed candidate list: ASCII unit and record separators. */
const FIELD = "\u001f";
const ROW = "\u001e";

/**
 * Reads the free candidates as ONE packed text value (fields joined by U+001F, rows by U+001E) rather
 * than one row per device: the devices of a whole region come back for every placement, and turning
 * hundreds of result rows into objects cost Node ~6 ms of CPU per request (bench/reservation.ts was
 * CPU-bound on it); splitting one string costs about a quarter of that. Every field is an id, an
 * enum, a number or a region code, except `city` (free text), whose separator characters are
 * replaced with spaces: it only serves as part of the site key.
 */
export async function loadCandidates(db: Db, query: PlacementQuery): Promise<DeviceState[]> {
  const [row] = await db.$queryRaw<{ packed: string | null }[]>`
    select string_agg(concat_ws(chr(31), d.id, d.supplier_id, translate(d.city, chr(30) || chr(31), '  '), d.gpu_model_id, d.gpu_count, d.vram_gb,
                                d.region, d.connectivity_tier, d.security_tier, d.network, d.price_per_gpu_hour, d.verification_score_bps), chr(30)) as packed
      from device d
     where d.status = 'ONLINE' and d.gpu_count > 0
       and d.gpu_model_id = any(${query.cluster.gpuModelIds}::text[])
       and d.region = any(${query.cluster.regions}::text[])
       and d.verification_score_bps >= ${query.minVerificationScoreBps}
       and not (d.id = any(${[...query.excludeDeviceIds]}::uuid[]))
       -- NOT IN (device_id is NOT NULL, so it means NOT EXISTS) is planned as a hashed subplan: one scan
       -- of the overlapping allocations, whatever the statistics say. The NOT EXISTS form was planned
       -- as a nested loop re-scanning every overlapping allocation per device when the tables had no
       -- statistics yet (a freshly seeded database): O(devices × allocations), most of Postgres's CPU
       -- in bench/reservation.ts.
       and d.id not in (select a.device_id from allocation a
                         where a.status = 'ACTIVE'
                           and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(${query.startsAt}::timestamptz, ${query.endsAt}::timestamptz, '[)'))`;
  if (!row?.packed) return [];
  return row.packed.split(ROW).map((line) => {
    const fields = line.split(FIELD);
    // concat_ws skips NULLs, which would shift fields; every column read is NOT NULL here (gpu_model_id
    // by the device check constraint once gpu_count > 0), so a short row means the query changed.
    if (fields.length !== 12) throw new Error(`candidate row has ${fields.length} fields, expected 12: ${JSON.stringify(line)}`);
    const [id, supplierId, city, gpuModelId, gpuCount, vramGb, region, connectivityTier, securityTier, network, price, score] = fields as [
      string, string, string, string, string, string, string, DeviceState["device"]["connectivityTier"], DeviceState["device"]["securityTier"],
      DeviceState["device"]["network"], string, string,
    ];
    return {
      online: true,
      reserved: false,
      device: {
        id,
        supplierId,
        siteKey: `${supplierId}:${city}`,
        gpuModelId,
        gpuCount: Number(gpuCount),
        vramGb: Number(vramGb),
        region,
        connectivityTier,
        securityTier,
        network,
        pricePerGpuHour: BigInt(price),
        verificationScoreBps: Number(score),
        // No uptime history is stored yet: every candidate ranks equal on uptime.
        uptimeBps: 10_000,
      },
    };
  });
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
  const loaded = await loadPlacement(db, query);
  if (!loaded.ok) return loaded;
  return placeAmong(loaded, query.excludeDeviceIds);
}

/** The request and the candidates read for it, to place (and re-place after a lost race) without reading again. */
export interface LoadedPlacement {
  ok: true;
  query: PlacementQuery;
  request: ClusterRequest;
  candidates: DeviceState[];
}

export async function loadPlacement(db: Db, query: PlacementQuery): Promise<LoadedPlacement | { ok: false; reason: string }> {
  const request = placementRequest(query);
  if (!request.ok) return request;
  return { ok: true, query, request: request.request, candidates: await loadCandidates(db, query) };
}

/**
 * Places among candidates read earlier, leaving out `exclude` (devices lost in a race since the read,
 * devices this process is reserving right now). A device taken by someone else since the read is not
 * known here: the reservation's pre-check reports it, and the caller places again without it.
 */
export function placeAmong(loaded: LoadedPlacement, exclude: ReadonlySet<string>): PlacementOutcome {
  const candidates = exclude.size === 0 ? loaded.candidates : loaded.candidates.map((state) => (exclude.has(state.device.id) ? { ...state, reserved: true } : state));
  const result: PlacementResult = naivePlace(candidates, loaded.request, { seed: loaded.query.cluster.id }, { minVerificationScoreBps: loaded.query.minVerificationScoreBps });
  if (!result.ok) return { ok: false, reason: result.reason.message };
  return { ok: true, devices: result.devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour })) };
}
