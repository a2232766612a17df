import { ClusterRequest, gpuModel, naivePlace, type DeviceState, type PlacementFailure, type PlacementResult } from "@gpumesh/core";
import type { Db } from "./client.ts";
import { storedWorkloadWithoutEnv } from "./workload-secrets.ts";
import { Prisma, type Cluster } from "./generated/prisma/client.ts";

/**
 * Adapter between Postgres and the matcher in @gpumesh/core, shared by the scheduler's deploy step and
 * the web app's quotes (packages/db/src/quotes.ts); it lives here because no app imports another. Candidates are read fresh from Postgres
 * for every placement (online, verified enough, no ACTIVE allocation overlapping the period, not
 * excluded): correct first, since Postgres is the truth and several schedulers reserve concurrently.
 * The in-memory PlacementIndex can replace this read once it is fed from heartbeats and reservations;
 * the reservation's exclusion constraint stays the final guard either way.
 */
export interface PlacementQuery {
  cluster: Pick<
    Cluster,
    | "id" | "name" | "type" | "gpuModelIds" | "minVramGb" | "regions" | "connectivityTier" | "encryptedTraffic" | "complianceOnly"
    | "supplierNetworks" | "durationHours" | "billingPeriod" | "paymentToken" | "maxPricePerGpuHour" | "workload"
  >;
  /** GPUs still needed (the whole cluster, or the part a replacement must cover). */
  gpuCount: number;
  startsAt: Date;
  endsAt: Date;
  excludeDeviceIds: ReadonlySet<string>;
  minVerificationScoreBps: number;
}

export interface PlacedDevice {
  deviceId: string;
  gpuCount: number;
  /** The device's own ask per GPU-hour (USDC base units). */
  pricePerGpuHour: bigint;
  gpuModelId: string;
  region: string;
  supplierId: string;
}

export type PlacementOutcome =
  | { ok: true; devices: PlacedDevice[] }
  /** `failure`: the matcher's diagnosis (the constraint that emptied the candidates), when it placed and failed. */
  | { ok: false; reason: string; failure?: PlacementFailure["reason"] };

/** Field and row separators of the packed candidate list: ASCII unit and record separators. */
const FIELD = "\u001f";
const ROW = "\u001e";

/**
 * Device `d` may be offered for a new lease: ONLINE, and not paused by its supplier (migration
 * 20261202120000_device_pause). Every read that finds free devices uses it; the reservation
 * statement checks the same in SQL (gpumesh_unavailable_devices), as the final guard.
 */
export const RENTABLE_DEVICE = Prisma.sql`d.status = 'ONLINE' and d.paused_at is null`;

/**
 * One candidate's packed row (fields joined by U+001F) from a device row aliased `d`; `parseCandidates`
 * reads the rows back. Every field is an id, an enum, a number or a region code, except `city` (free
 * text), whose separator characters are replaced with spaces: it only serves as part of the site key.
 */
export const PACKED_CANDIDATE = Prisma.sql`concat_ws(chr(31), d.id, d.supplier_id, translate(d.city, chr(30) || chr(31), '  '), d.gpu_model_id, d.gpu_count, d.vram_gb,
  d.region, d.connectivity_tier, d.security_tier, d.network, d.price_per_gpu_hour, d.verification_score_bps, d.runs_images::int)`;

/**
 * The candidate read's runtime filter for device `d`: a cluster that brings a workload (always an
 * image) is only offered devices whose agents run images. The matcher checks it too (the `runtime`
 * constraint in @gpumesh/core); leaving them out here keeps them out of every later step.
 */
export function runtimeFilter(query: Pick<PlacementQuery, "cluster">): Prisma.Sql {
  return needsImages(query) ? Prisma.sql`and d.runs_images` : Prisma.empty;
}

/** The cluster brings a workload: only devices that run container images can serve it. */
export function needsImages(query: Pick<PlacementQuery, "cluster">): boolean {
  return query.cluster.workload !== null && query.cluster.workload !== undefined;
}

/**
 * The ACTIVE allocations of device `d` overlapping [startsAt, endsAt), probed per device through the
 * btree index (device_id, status): LATERAL with LIMIT cannot be flattened into a join, so the cost is
 * one index probe per device of the requested markets (~1,600 for one model in one region at 100,000
 * devices), whatever the statistics say and however many allocations the rest of the network holds.
 * The earlier `NOT IN (overlapping allocations)` hashed every overlapping allocation of the network
 * per read (34,000 at 100,000 devices with 40 % busy: most of a quote's time, bench/quote.ts), and a
 * plain NOT EXISTS could be planned as a nested loop re-scanning them per device on a freshly seeded
 * database. `status::text` on purpose: it keeps the planner off the partial GiST exclusion index,
 * whose device_id probes cost ~50 µs each against ~5 µs for the btree.
 */
export function takenProbe(startsAt: Date, endsAt: Date): Prisma.Sql {
  return Prisma.sql`left join lateral (
      select true as taken from allocation a
       where a.device_id = d.id and a.status::text = 'ACTIVE' and a.starts_at < ${endsAt}::timestamptz and a.ends_at > ${startsAt}::timestamptz
       limit 1) probe on true`;
}

/** The packed rows of `PACKED_CANDIDATE` as the matcher's device states (all online and free). */
export function parseCandidates(packed: string | null | undefined): DeviceState[] {
  if (!packed) return [];
  return packed.split(ROW).map((line) => {
    const fields = line.split(FIELD);
    // concat_ws skips NULLs, which would shift fields; every column read is NOT NULL here (gpu_model_id
    // by the device check constraint once gpu_count > 0), so a short row means the query changed.
    if (fields.length !== 13) throw new Error(`candidate row has ${fields.length} fields, expected 13: ${JSON.stringify(line)}`);
    const [id, supplierId, city, gpuModelId, gpuCount, vramGb, region, connectivityTier, securityTier, network, price, score, runsImages] = fields as [
      string, string, string, string, string, string, string, DeviceState["device"]["connectivityTier"], DeviceState["device"]["securityTier"],
      DeviceState["device"]["network"], string, string, string,
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
        runsImages: runsImages === "1",
        pricePerGpuHour: BigInt(price),
        verificationScoreBps: Number(score),
        // No uptime history is stored yet: every candidate ranks equal on uptime.
        uptimeBps: 10_000,
      },
    };
  });
}

/**
 * Reads the free candidates as ONE packed text value (rows joined by U+001E) rather than one row per
 * device: the devices of a whole region come back for every placement, and turning hundreds of result
 * rows into objects cost Node ~6 ms of CPU per request (bench/reservation.ts was CPU-bound on it);
 * splitting one string costs about a quarter of that.
 */
export async function loadCandidates(db: Db, query: PlacementQuery): Promise<DeviceState[]> {
  const [row] = await db.$queryRaw<{ packed: string | null }[]>`
    select string_agg(${PACKED_CANDIDATE}, chr(30)) as packed
      from device d
      ${takenProbe(query.startsAt, query.endsAt)}
     where ${RENTABLE_DEVICE} and d.gpu_count > 0
       and d.gpu_model_id = any(${query.cluster.gpuModelIds}::text[])
       and d.region = any(${query.cluster.regions}::text[])
       and d.verification_score_bps >= ${query.minVerificationScoreBps}
       and not (d.id = any(${[...query.excludeDeviceIds]}::uuid[]))
       ${runtimeFilter(query)}
       and probe.taken is null`;
  return parseCandidates(row?.packed);
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
    // The matcher keeps a cluster with a workload to devices that run images (checked again here: a
    // stored workload that no longer validates is reported, as sending it to an agent would fail).
    // Its env values are not needed to place it (and are sealed at rest: workload-secrets.ts).
    ...(c.workload !== null && c.workload !== undefined ? { workload: storedWorkloadWithoutEnv(c.workload) ?? c.workload } : {}),
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
  if (!result.ok) {
    // With a workload the read held only devices that run images, so "no such GPUs here" from the
    // matcher means none of them runs images: say so (a quote names the cause from network-wide counts).
    if (needsImages(loaded.query) && (result.reason.constraint === "gpuModel" || result.reason.constraint === "region")) {
      const names = loaded.request.gpuModelIds.map((id) => gpuModel(id)?.name ?? id).join(" or ");
      return { ok: false, reason: `no free ${names} GPUs in ${loaded.request.regions.join(", ")} on devices that run container images`, failure: result.reason };
    }
    return { ok: false, reason: result.reason.message, failure: result.reason };
  }
  return {
    ok: true,
    devices: result.devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour, gpuModelId: d.gpuModelId!, region: d.region, supplierId: d.supplierId })),
  };
}
