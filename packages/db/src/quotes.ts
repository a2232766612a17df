import {
  ClusterRequest,
  CONNECTIVITY_TIER_RANK,
  ConnectivityTier,
  DEFAULT_MATCHER_CONFIG,
  gpuModel,
  marketPricePerGpuHour,
  priceQuote,
  requiredSecurityRank,
  SECURITY_TIER_RANK,
  SecurityTier,
  surgeBps,
  toTokenUnits,
  UnexpectedClusterStatusError,
  utilisationBps,
  workloadView,
  type ClusterRequestInput,
  type ClusterTransitionEvent,
  type PaymentToken,
  type PlacementConstraint,
  type FreeSegment,
  type QuoteBreakdown,
  type SupplierNetwork,
  type WorkloadView,
} from "@gpumesh/core";
import { randomUUID } from "node:crypto";
import type { Db } from "./client.ts";
import { publishSafely, transitionSql, type PublishClusterEvent, type TransitionResult, type TransitionSqlRow } from "./cluster-transitions.ts";
import { Prisma } from "./generated/prisma/client.ts";
import type { HeldPlacement, LivePlacement } from "./live-placement.ts";
import { PACKED_CANDIDATE, parseCandidates, RENTABLE_DEVICE, placeAmong, placementRequest, runtimeFilter, type LoadedPlacement, type PlacedDevice, type PlacementOutcome, type PlacementQuery } from "./placement.ts";
import { sealWorkloadAtRest, type StoredWorkload } from "./workload-secrets.ts";
import { depositJournalCall, failAndRefundSql, RESERVATION_LOCK_SPACE, type UnavailableReason } from "./reservations.ts";

/**
 * HELD QUOTES (issue #10 "Quote, then pay"). A quote is a cluster row in REQUESTED that holds the quoted
 * devices with ACTIVE allocations until it is paid or expires, so nobody else can take them while the
 * renter signs: match (placement.ts) → price (@gpumesh/core pricing.ts, utilisation read from Postgres)
 * → ONE statement (`gpumesh_hold_quote`, migration 20261130120000_held_quotes) inserting the cluster
 * with its price and deposit AND reserving the gang, all or nothing. The exclusion constraint on
 * allocations stays the final guard, exactly as for the deploy step's reservations.
 *
 * - Price: only from the server-side pricing here; the request carries no price but an optional cap
 *   (`maxPricePerGpuHour`), and a quote above the cap is refused, never lowered.
 * - Hold window: [now, now + duration + TTL). It covers the whole lease for a renter who pays at the
 *   last second of the TTL; the deploy step re-windows it to the real [start, start + duration + deploy
 *   margin) when it claims the devices (`startMatchingWithHolds`). A device is never reserved from a
 *   later time in this system (every reservation starts at its own "now"), so extending the hold at
 *   deployment practically never collides; when it does, that node is matched afresh.
 * - Expiry: the settle sweep (apps/scheduler jobs/unfinished.ts) fails quotes past `quote_expires_at`
 *   (REQUESTED → FAILED → REFUNDED, nothing was escrowed), which releases the holds. The sweep runs every
 *   SETTLE_SWEEP_EVERY_S (60 s by default), so a hold outlives its TTL by at most that.
 * - Per account: at most MAX_HELD_QUOTES_PER_ACCOUNT unexpired quotes. A renter who asks for one more
 *   (changing the configuration, comparing regions) gets it, and their OLDEST held quote is released
 *   ("superseded by a newer quote"; its id is returned in `superseded`). Refusing instead would make
 *   the configure page manage quotes for the renter; superseding bounds what one account can hoard to
 *   the cap × the largest cluster, and a renter signing an old quote while asking for three newer ones
 *   is the payment path's case of a quote that is no longer held (as after expiry).
 */

/**
 * Default hold: 5 minutes. Long enough to read the breakdown, connect a wallet, sign and have Solana
 * confirm (seconds, a minute on a congested network); short enough that abandoned quotes — most of them
 * on a configure page — give their GPUs back quickly. Configurable per call (`ttlMs`).
 */
export const DEFAULT_QUOTE_HOLD_MS = 5 * 60_000;
/** Unexpired quotes one account may hold at once; a further quote supersedes the oldest. */
export const MAX_HELD_QUOTES_PER_ACCOUNT = 3;
/** First key of the advisory locks that serialize one account's quotes (arbitrary, fixed: "GPQ"). */
export const QUOTE_LOCK_SPACE = 0x475051;
/** Re-matches after losing a race for devices, per quote. */
const MAX_HOLD_ATTEMPTS = 5;

export const QUOTE_SUPERSEDED = "superseded by a newer quote";

/** The protocol's fee and burn rates: the program's config (`fetchProgramConfig`), or FEE_BPS/BURN_BPS without a chain. */
export interface ProtocolRates {
  feeBps: number | bigint;
  burnBps: number | bigint;
}

export interface CreateHeldQuoteInput {
  accountId: string;
  /** The renter's configuration (validated again here with the zod schema). */
  request: ClusterRequest | ClusterRequestInput;
  now: Date;
  /** How long the quote holds its devices; DEFAULT_QUOTE_HOLD_MS when not given. */
  ttlMs?: number;
  rates: ProtocolRates;
  /** Devices scoring below this are never quoted (the scheduler's MIN_VERIFICATION_SCORE_BPS). */
  minVerificationScoreBps?: number;
  maxHeldQuotes?: number;
  /** Publishes the ClusterEvents of superseded quotes (after commit; optional: the rows are the truth). */
  publish?: PublishClusterEvent;
  /**
   * A live placement index (live-placement.ts): while it is ready the quote places from it and prices
   * from its market loads, and reads nothing but the models' hyperscaler prices before the hold; the
   * hold statement stays the guard. Without it (or while it loads) candidates are read from Postgres.
   */
  placement?: LivePlacement;
  /**
   * The server's WORKLOAD_SECRETS_KEY (32 bytes): the workload's env values are stored sealed with it
   * (workload-secrets.ts). Without it a request with env values is refused before anything is held.
   */
  workloadSecretsKey?: Uint8Array;
}

export interface QuotedDevice {
  deviceId: string;
  supplierId: string;
  gpuModelId: string;
  region: string;
  gpuCount: number;
  /** The device's own ask per GPU-hour, USDC base units (its floor). */
  askPerGpuHour: bigint;
  /** Surge of its market when quoted. */
  surgeBps: bigint;
}

export interface MarketLoadView {
  gpuModelId: string;
  region: string;
  onlineGpus: number;
  busyGpus: number;
  utilisationBps: bigint;
  surgeBps: bigint;
}

export interface HeldQuote {
  /** The REQUESTED cluster: what the payment (open_lease) is for. */
  clusterId: string;
  createdAt: Date;
  expiresAt: Date;
  /** The request as priced, without its workload (whose env values are never echoed back). */
  request: Omit<ClusterRequest, "workload">;
  /** What will run on each node, as may be shown: env names, not values. */
  workload: WorkloadView | null;
  devices: QuotedDevice[];
  /** Utilisation and surge of the markets the devices are in, as priced. */
  markets: MarketLoadView[];
  breakdown: QuoteBreakdown;
  /** Older quotes of the renter released to stay within the cap. */
  superseded: string[];
}

/** Free GPUs of one GPU model in one region. */
export interface FreeGpus {
  gpuModelId: string;
  region: string;
  freeGpus: number;
}

export interface QuoteInfeasible {
  ok: false;
  /** The matcher's first constraint that emptied the candidates; `price`: the quote exceeded the renter's cap after surge. */
  constraint: PlacementConstraint;
  message: string;
  /** Free GPUs that match everything but count and price, where the renter asked. */
  requested: FreeGpus[];
  /** Nearest alternatives: the requested models in other regions, most free first. */
  otherRegions: FreeGpus[];
  /** Nearest alternatives: other models in the requested regions, most free first. */
  otherModels: FreeGpus[];
}

export type HeldQuoteResult = { ok: true; quote: HeldQuote } | QuoteInfeasible;

/** The renter's quote lock stayed taken by concurrent quotes of the same account through every attempt. */
export class QuoteContendedError extends Error {
  constructor(readonly accountId: string) {
    super(`account ${accountId}: concurrent quotes kept the quote cap full; try again`);
    this.name = "QuoteContendedError";
  }
}

/**
 * Matches, prices and holds a cluster for `accountId`. Returns the held quote, or why nothing can be
 * quoted with the nearest alternatives. Throws a ZodError for an invalid request.
 */
export async function createHeldQuote(db: Db, input: CreateHeldQuoteInput): Promise<HeldQuoteResult> {
  const request = ClusterRequest.parse(input.request);
  const ttlMs = input.ttlMs ?? DEFAULT_QUOTE_HOLD_MS;
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError("ttlMs must be positive");
  const maxHeld = input.maxHeldQuotes ?? MAX_HELD_QUOTES_PER_ACCOUNT;
  const minScore = input.minVerificationScoreBps ?? DEFAULT_MATCHER_CONFIG.minVerificationScoreBps;
  const now = input.now;
  const expiresAt = new Date(now.getTime() + ttlMs);
  const window = { startsAt: now, endsAt: new Date(now.getTime() + request.durationHours * 3_600_000 + ttlMs) };
  const clusterId = randomUUID();
  // Sealed first: a server without its key refuses before holding anything.
  const storedWorkload = request.workload ? sealWorkloadAtRest(request.workload, clusterId, input.workloadSecretsKey) : null;
  const query: PlacementQuery = {
    cluster: {
      id: clusterId, name: request.name, type: request.type, gpuModelIds: request.gpuModelIds, minVramGb: request.minVramGb, regions: request.regions,
      connectivityTier: request.connectivityTier, encryptedTraffic: request.encryptedTraffic, complianceOnly: request.complianceOnly,
      supplierNetworks: request.supplierNetworks, durationHours: request.durationHours, billingPeriod: request.billingPeriod, paymentToken: request.paymentToken,
      maxPricePerGpuHour: request.maxPricePerGpuHour ?? null, workload: request.workload ?? null,
    },
    gpuCount: request.gpuCount,
    ...window,
    excludeDeviceIds: new Set(),
    minVerificationScoreBps: minScore,
  };
  const read = () => readMarket(db, query, now);
  const exclude = query.excludeDeviceIds as Set<string>;
  const superseded: string[] = [];
  let live = input.placement?.ready && input.placement.minVerificationScoreBps === minScore ? input.placement : null;
  let source = live ? null : await read();
  const hyperscaler = live ? await readHyperscaler(db, request.gpuModelIds) : null;
  let priced: Priced | null = null;
  // The index's in-process hold on the priced gang (other quotes of this process will not pick it).
  let held: HeldPlacement | null = null;
  try {
    for (let attempt = 1; attempt <= MAX_HOLD_ATTEMPTS; attempt++) {
      if (!priced) {
        let placed: PlacementOutcome;
        let market: MarketRead;
        const fromIndex = live?.place(query) ?? null;
        if (live && fromIndex === null) {
          // The index stopped being ready (its feed dropped): read candidates instead.
          live = null;
          source = await read();
        }
        if (fromIndex !== null && !(!fromIndex.ok && fromIndex.contended)) {
          placed = fromIndex;
          if (fromIndex.ok) held = fromIndex;
          market = { loads: new Map(), hyperscaler: hyperscaler ?? new Map() };
          if (fromIndex.ok) for (const d of fromIndex.devices) market.loads.set(marketKey(d.gpuModelId, d.region), live!.marketLoad(d.gpuModelId, d.region));
        } else {
          // Only this process's other quotes in flight stood in the way: read what Postgres says.
          source ??= await read();
          placed = placeAmong(source.loaded, exclude);
          market = source.market;
        }
        if (!placed.ok) return infeasible(db, request, window, minScore, placed.failure?.constraint ?? "capacity", placed.reason);
        priced = price(placed.devices, market, request, input.rates);
        const cap = request.maxPricePerGpuHour;
        if (cap !== undefined && priced.breakdown.pricePerGpuHour > cap) {
          const message = `the quote is ${priced.breakdown.pricePerGpuHour} base units per GPU-hour after utilisation (surge ${priced.breakdown.surgeBps} bps), above the cap of ${cap}`;
          return infeasible(db, request, window, minScore, "price", message);
        }
      }
      const outcome = await holdQuote(db, { clusterId, accountId: input.accountId, request, storedWorkload, now, expiresAt, window, maxHeld, priced });
      if (outcome.outcome === "held") {
        live?.markTaken(priced.devices.map((d) => d.deviceId));
        return {
          ok: true,
          quote: { clusterId, createdAt: now, expiresAt, request: withoutWorkload(request), workload: workloadView(request.workload), devices: priced.devices, markets: priced.markets, breakdown: priced.breakdown, superseded },
        };
      }
      if (outcome.outcome === "too-many") {
        // Release the oldest, then hold the same priced gang again (nothing to re-read: it was free).
        superseded.push(...(await supersedeOldest(db, input.accountId, outcome.heldQuotes - maxHeld + 1, now, input.publish)));
        continue;
      }
      // Lost a race for some devices: place again without them; read again when they were taken (others
      // probably were too) rather than discover them one lost race at a time.
      priced = null;
      held?.release();
      held = null;
      for (const id of outcome.unavailable) exclude.add(id);
      if (live) live.lostRace(outcome.unavailable, outcome.reasons);
      else if (Object.values(outcome.reasons).includes("reserved")) source = await read();
    }
    const fromIndex = live?.place(query) ?? null;
    if (fromIndex?.ok) fromIndex.release();
    const last: PlacementOutcome = fromIndex ?? placeAmong((source ?? (await read())).loaded, exclude);
    if (!last.ok) return infeasible(db, request, window, minScore, last.failure?.constraint ?? "capacity", last.reason);
    throw new QuoteContendedError(input.accountId);
  } finally {
    held?.release();
  }
}

/** Hyperscaler list price per GPU-hour of each model (what a quote compares against), for the index path. */
async function readHyperscaler(db: Db, models: readonly string[]): Promise<Map<string, bigint | null>> {
  const rows = await db.$queryRaw<{ id: string; price: bigint | null }[]>`select id, hyperscaler_price_per_hour as price from gpu_model where id = any(${[...models]}::text[])`;
  return new Map(rows.map((r) => [r.id, r.price]));
}

interface Priced {
  devices: QuotedDevice[];
  markets: MarketLoadView[];
  breakdown: QuoteBreakdown;
}

const marketKey = (model: string, region: string) => `${model}|${region}`;

function price(devices: readonly PlacedDevice[], market: MarketRead, request: ClusterRequest, rates: ProtocolRates): Priced {
  const markets = new Map<string, MarketLoadView>();
  const quoted: QuotedDevice[] = devices.map((d) => {
    const key = marketKey(d.gpuModelId, d.region);
    let view = markets.get(key);
    if (!view) {
      const load = market.loads.get(key) ?? { onlineGpus: 0, busyGpus: 0 };
      const u = utilisationBps(load);
      view = { gpuModelId: d.gpuModelId, region: d.region, onlineGpus: load.onlineGpus, busyGpus: load.busyGpus, utilisationBps: u, surgeBps: surgeBps(u) };
      markets.set(key, view);
    }
    return { deviceId: d.deviceId, supplierId: d.supplierId, gpuModelId: d.gpuModelId, region: d.region, gpuCount: d.gpuCount, askPerGpuHour: d.pricePerGpuHour, surgeBps: view.surgeBps };
  });
  const breakdown = priceQuote(
    quoted.map((d) => ({
      gpuCount: d.gpuCount,
      askPerGpuHour: d.askPerGpuHour,
      surgeBps: d.surgeBps,
      hyperscalerPerGpuHour: market.hyperscaler.get(d.gpuModelId) ?? null,
    })),
    { durationHours: request.durationHours, token: request.paymentToken, feeBps: rates.feeBps, burnBps: rates.burnBps },
  );
  return { devices: quoted, markets: [...markets.values()], breakdown };
}

type HoldOutcome =
  | { outcome: "held"; heldQuotes: number }
  | { outcome: "too-many"; heldQuotes: number }
  | { outcome: "unavailable"; unavailable: string[]; reasons: Record<string, UnavailableReason> };

function withoutWorkload(request: ClusterRequest): Omit<ClusterRequest, "workload"> {
  const { workload: _workload, ...rest } = request;
  return rest;
}

async function holdQuote(
  db: Db,
  args: { clusterId: string; accountId: string; request: ClusterRequest; storedWorkload: StoredWorkload | null; now: Date; expiresAt: Date; window: { startsAt: Date; endsAt: Date }; maxHeld: number; priced: Priced },
): Promise<HoldOutcome> {
  const { request, priced } = args;
  // Device-id order, as every reservation inserts: gangs sharing devices wait in the same order.
  const devices = [...priced.devices].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  const gpus = devices.reduce((n, d) => n + d.gpuCount, 0);
  const reason = `quote held: ${devices.length} device(s), ${gpus} GPU(s) at ${priced.breakdown.pricePerGpuHour} per GPU-hour until ${args.expiresAt.toISOString()}`;
  // The workload goes to its own column (env values sealed; read by the deploy job), not into the quote shown to people.
  const stored = toJson({ version: 1, request: withoutWorkload(request), devices: priced.devices, markets: priced.markets, breakdown: priced.breakdown });
  const [row] = await db.$queryRaw<{ outcome: "held" | "too-many" | "unavailable"; held_quotes: number; unavailable_ids: string[] | null; unavailable_reasons: UnavailableReason[] | null }[]>`
    select outcome, held_quotes, unavailable_ids, unavailable_reasons
      from gpumesh_hold_quote(${args.clusterId}::uuid, ${args.accountId}::uuid, ${args.maxHeld}::int, ${QUOTE_LOCK_SPACE}::int, ${args.now}::timestamptz,
                              ${args.expiresAt}::timestamptz, ${reason}::text, ${request.name}::text, ${request.type}::text, ${request.gpuModelIds}::text[],
                              ${request.gpuCount}::int, ${request.minVramGb}::int, ${request.regions}::text[], ${request.connectivityTier}::text,
                              ${request.encryptedTraffic}::boolean, ${request.complianceOnly}::boolean, ${request.supplierNetworks}::text[],
                              ${request.durationHours}::int, ${request.billingPeriod}::text, ${request.paymentToken}::text,
                              ${request.maxPricePerGpuHour?.toString() ?? null}::bigint, ${priced.breakdown.pricePerSecond.toString()}::bigint,
                              ${priced.breakdown.total.toString()}::bigint, ${JSON.stringify(stored)}::jsonb,
                              ${args.window.startsAt}::timestamptz, ${args.window.endsAt}::timestamptz, ${devices.map((d) => d.deviceId)}::uuid[],
                              ${devices.map((d) => d.gpuCount)}::int[],
                              ${devices.map(() => priced.breakdown.pricePerGpuHour.toString())}::text[]::bigint[], ${RESERVATION_LOCK_SPACE}::int)`;
  if (!row) throw new Error("gpumesh_hold_quote returned no row");
  // Before anyone can pay for it: the quote id reaches the renter only when this returns.
  if (row.outcome === "held" && args.storedWorkload) await db.$executeRaw`update cluster set workload = ${JSON.stringify(args.storedWorkload)}::jsonb where id = ${args.clusterId}::uuid`;
  if (row.outcome === "unavailable") {
    const ids = row.unavailable_ids ?? [];
    return { outcome: "unavailable", unavailable: ids, reasons: Object.fromEntries(ids.map((id, i) => [id, row.unavailable_reasons?.[i] ?? "unknown"])) };
  }
  return { outcome: row.outcome, heldQuotes: row.held_quotes };
}

/** Releases the account's `count` oldest unexpired quotes (and any expired ones still holding devices). */
async function supersedeOldest(db: Db, accountId: string, count: number, now: Date, publish?: PublishClusterEvent): Promise<string[]> {
  const rows = await db.cluster.findMany({
    where: { renterId: accountId, status: "REQUESTED", quoteExpiresAt: { not: null } },
    select: { id: true, quoteExpiresAt: true, paymentToken: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const expired = rows.filter((r) => r.quoteExpiresAt! <= now);
  const oldest = rows.filter((r) => r.quoteExpiresAt! > now).slice(0, Math.max(0, count));
  const released: string[] = [];
  for (const row of [...expired, ...oldest]) {
    const why = row.quoteExpiresAt! <= now ? "quote expired" : QUOTE_SUPERSEDED;
    if (await releaseHeldQuote(db, { clusterId: row.id, renterId: accountId, paymentToken: row.paymentToken }, { at: now, reason: why, publish })) released.push(row.id);
  }
  return released;
}

/**
 * Releases a quote that was not paid (renter cancelled it, superseded, expired): REQUESTED → FAILED →
 * REFUNDED in one statement, releasing its holds; nothing was escrowed, so nothing is refunded. False
 * when it is no longer REQUESTED (paid meanwhile, already released).
 */
export async function releaseHeldQuote(
  db: Db,
  cluster: { clusterId: string; renterId: string; paymentToken: PaymentToken },
  options: { at: Date; reason: string; publish?: PublishClusterEvent },
): Promise<boolean> {
  const [row] = await db.$queryRaw<{ status: string }[]>`select status::text from cluster where id = ${cluster.clusterId}::uuid`;
  if (row?.status !== "REQUESTED") return false;
  try {
    const result = await failAndRefundSql(db, { id: cluster.clusterId, renterId: cluster.renterId, paymentToken: cluster.paymentToken }, {
      expectedFrom: "REQUESTED", at: options.at, reason: options.reason, failReleaseReason: options.reason,
      refundReason: "closed: nothing was escrowed", why: options.reason, refundReleaseReason: options.reason,
    });
    if (options.publish) for (const event of [result.failed.event, result.refunded.event]) if (event) await publishSafely(options.publish, event);
    return result.failed.changed;
  } catch (error) {
    if (error instanceof UnexpectedClusterStatusError) return false;
    throw error;
  }
}

// -- market loads and availability --------------------------------------------------------------------

interface MarketRead {
  /** Online and busy GPUs per `marketKey(model, region)` of the requested markets. */
  loads: Map<string, { onlineGpus: number; busyGpus: number }>;
  /** Hyperscaler list price per GPU-hour of each requested model (USDC base units; null: none). */
  hyperscaler: Map<string, bigint | null>;
}

/**
 * Everything a quote reads, in ONE statement: the free candidates (packed as placement.ts packs them;
 * with a workload, only devices that run images) and the utilisation of the requested markets (every
 * runtime: what the market charges does not depend on it), from one pass over their ONLINE devices with one
 * btree probe of each device's ACTIVE allocations overlapping the hold window (see `takenProbe` in
 * placement.ts for why per-device probes), plus the models' hyperscaler prices. A device is free for
 * the quote when nothing overlaps the window, busy (for utilisation) when an overlapping allocation
 * has started: min(starts_at) ≤ now.
 */
async function readMarket(db: Db, query: PlacementQuery, now: Date): Promise<{ loaded: LoadedPlacement; market: MarketRead }> {
  const request = placementRequest(query);
  if (!request.ok) throw new Error(`quote request did not validate for the matcher: ${request.reason}`);
  const { cluster } = query;
  const [row] = await db.$queryRaw<{ packed: string | null; markets: string | null; models: string | null }[]>`
    with d as materialized (
      select d.id, d.supplier_id, d.city, d.gpu_model_id, d.gpu_count, d.vram_gb, d.region, d.connectivity_tier, d.security_tier, d.network,
             d.price_per_gpu_hour, d.verification_score_bps, d.runs_images, probe.first_start, d.paused_at is not null as paused
        from device d
        cross join lateral (
          select min(a.starts_at) as first_start from allocation a
           where a.device_id = d.id and a.status::text = 'ACTIVE' and a.starts_at < ${query.endsAt}::timestamptz and a.ends_at > ${query.startsAt}::timestamptz) probe
       where d.status = 'ONLINE' and d.gpu_count > 0 and d.gpu_model_id = any(${cluster.gpuModelIds}::text[]) and d.region = any(${cluster.regions}::text[]))
    select (select string_agg(${PACKED_CANDIDATE}, chr(30)) from d
             where d.first_start is null and not d.paused and d.verification_score_bps >= ${query.minVerificationScoreBps}::int ${runtimeFilter(query)}) as packed,
           -- Load as availability() counts it: a paused device is supply only while it serves a lease.
           (select string_agg(concat_ws(chr(31), g.gpu_model_id, g.region, g.online, g.busy), chr(30))
              from (select d.gpu_model_id, d.region, coalesce(sum(d.gpu_count) filter (where not d.paused or d.first_start <= ${now}::timestamptz), 0) as online,
                           coalesce(sum(d.gpu_count) filter (where d.first_start <= ${now}::timestamptz), 0) as busy
                      from d group by d.gpu_model_id, d.region) g) as markets,
           (select string_agg(concat_ws(chr(31), m.id, coalesce(m.hyperscaler_price_per_hour::text, '-')), chr(30))
              from gpu_model m where m.id = any(${cluster.gpuModelIds}::text[])) as models`;
  const loads = new Map<string, { onlineGpus: number; busyGpus: number }>();
  for (const line of row?.markets ? row.markets.split("\u001e") : []) {
    const [model, region, online, busy] = line.split("\u001f") as [string, string, string, string];
    loads.set(marketKey(model, region), { onlineGpus: Number(online), busyGpus: Number(busy) });
  }
  const hyperscaler = new Map<string, bigint | null>();
  for (const line of row?.models ? row.models.split("\u001e") : []) {
    const [model, price] = line.split("\u001f") as [string, string];
    hyperscaler.set(model, price === "-" ? null : BigInt(price));
  }
  return { loaded: { ok: true, query, request: request.request, candidates: parseCandidates(row?.packed) }, market: { loads, hyperscaler } };
}

export interface MarketAvailability {
  gpuModelId: string;
  region: string;
  /** GPUs on ONLINE devices. */
  onlineGpus: number;
  /** GPUs on ONLINE devices with an ACTIVE allocation now (leases, deployments, held quotes). */
  busyGpus: number;
  /** GPUs on ONLINE devices free now and verified enough to be quoted. */
  freeGpus: number;
  utilisationBps: bigint;
  surgeBps: bigint;
  /** Lowest ask per GPU-hour among the free devices (USDC base units); null when none is free. */
  cheapestAskPerGpuHour: bigint | null;
  /** What a one-device quote on the cheapest free device would cost per GPU-hour now (after surge, per-second rounding), in `token`; null when none is free. */
  pricePerGpuHour: bigint | null;
  /** Hyperscaler list price per GPU-hour in `token`; null where none rents the model. */
  hyperscalerPricePerGpuHour: bigint | null;
  /**
   * The free GPUs split by what a request filters on besides model and region (connectivity tier,
   * security tier, supplier network, whether the agent runs container images), each part with its
   * cheapest price: a client can count and price any combination of those options without asking
   * again (the deploy form shows every option's availability this way).
   */
  segments: MarketSegment[];
}

/** `pricePerGpuHour`: what a one-device quote on the cheapest of them would cost now, in `token` (the market's surge applies). */
export interface MarketSegment extends FreeSegment {
  cheapestAskPerGpuHour: bigint;
}

/**
 * The configure page's table: per GPU model × region, online / busy / free GPUs, the current price per
 * GPU-hour after utilisation, and the hyperscaler list price. ONE aggregate over the ONLINE devices
 * (filtered by `gpuModelIds`/`regions` when given, which uses the device index); markets with no
 * online GPU are absent. Ordered by model, then region. The whole network is one pass over every
 * ONLINE device (tens of ms at 100,000 devices, bench/RESULTS.md): cache it for a few seconds in the
 * web layer rather than call it per keystroke; a quote never calls it.
 */
export async function availability(
  db: Db,
  options: { now: Date; gpuModelIds?: readonly string[]; regions?: readonly string[]; minVerificationScoreBps?: number; token?: PaymentToken },
): Promise<MarketAvailability[]> {
  const minScore = options.minVerificationScoreBps ?? DEFAULT_MATCHER_CONFIG.minVerificationScoreBps;
  const models = options.gpuModelIds ? [...options.gpuModelIds] : null;
  const regions = options.regions ? [...options.regions] : null;
  const token = options.token ?? "USDC";
  // Busy now: for some markets, one btree probe per device (placement.ts `takenProbe`); for the whole
  // network, one hashed set of the allocations covering now (one pass beats 100,000 probes).
  const busy = models || regions
    ? Prisma.sql`((select true from allocation a where a.device_id = d.id and a.status::text = 'ACTIVE' and a.starts_at <= ${options.now}::timestamptz and a.ends_at > ${options.now}::timestamptz limit 1) is not null)`
    : Prisma.sql`(d.id in (select a.device_id from allocation a where a.status = 'ACTIVE' and a.starts_at <= ${options.now}::timestamptz and a.ends_at > ${options.now}::timestamptz))`;
  const from = Prisma.sql`
      from (select d.gpu_model_id, d.region, d.gpu_count, d.price_per_gpu_hour as price, d.verification_score_bps as score, d.connectivity_tier::text as tier,
                   d.security_tier::text as security, d.network::text as network, d.runs_images, ${busy} as busy, d.paused_at is not null as paused
              from device d
             where d.status = 'ONLINE' and d.gpu_count > 0
               and (${models}::text[] is null or d.gpu_model_id = any(${models}::text[]))
               and (${regions}::text[] is null or d.region = any(${regions}::text[]))) x`;
  // One scan, two groupings: the market rows, and the free devices' segments of each market.
  const rows = await db.$queryRaw<{
    gpu_model_id: string; region: string; tier: ConnectivityTier | null; security: SecurityTier | null; network: SupplierNetwork | null; runs_images: boolean | null;
    online: bigint; busy: bigint; free: bigint; cheapest: bigint | null;
  }[]>`
    -- A paused device is supply only while it serves a lease: idle, it is neither free nor on offer.
    select x.gpu_model_id, x.region, x.tier, x.security, x.network, x.runs_images, coalesce(sum(x.gpu_count) filter (where x.busy or not x.paused), 0)::bigint as online,
           coalesce(sum(x.gpu_count) filter (where x.busy), 0)::bigint as busy,
           coalesce(sum(x.gpu_count) filter (where not x.busy and not x.paused and x.score >= ${minScore}::int), 0)::bigint as free,
           min(x.price) filter (where not x.busy and not x.paused and x.score >= ${minScore}::int) as cheapest
      ${from}
     group by grouping sets ((x.gpu_model_id, x.region), (x.gpu_model_id, x.region, x.tier, x.security, x.network, x.runs_images))
     order by x.gpu_model_id, x.region`;
  const hyperscaler = new Map((await db.gpuModel.findMany({ select: { id: true, hyperscalerPricePerHour: true } })).map((m) => [m.id, m.hyperscalerPricePerHour]));
  const markets: MarketAvailability[] = [];
  const byMarket = new Map<string, MarketAvailability>();
  const key = (row: { gpu_model_id: string; region: string }) => `${row.gpu_model_id}|${row.region}`;
  for (const row of rows.filter((r) => r.tier === null && Number(r.online) > 0)) {
    const load = { onlineGpus: Number(row.online), busyGpus: Number(row.busy) };
    const u = utilisationBps(load);
    const cheapest = row.cheapest === null ? null : BigInt(row.cheapest);
    const hyperscalerPrice = hyperscaler.get(row.gpu_model_id) ?? null;
    const market: MarketAvailability = {
      gpuModelId: row.gpu_model_id,
      region: row.region,
      ...load,
      freeGpus: Number(row.free),
      utilisationBps: u,
      surgeBps: surgeBps(u),
      cheapestAskPerGpuHour: cheapest,
      pricePerGpuHour: cheapest === null ? null : marketPricePerGpuHour(cheapest, load, token),
      hyperscalerPricePerGpuHour: hyperscalerPrice === null ? null : toTokenUnits(BigInt(hyperscalerPrice), token),
      segments: [],
    };
    markets.push(market);
    byMarket.set(key(row), market);
  }
  for (const row of rows) {
    const market = byMarket.get(key(row));
    if (row.tier === null || row.cheapest === null || !market) continue;
    const ask = BigInt(row.cheapest);
    market.segments.push({
      connectivityTier: row.tier, securityTier: row.security!, network: row.network!, runsImages: row.runs_images!, freeGpus: Number(row.free),
      cheapestAskPerGpuHour: ask, pricePerGpuHour: marketPricePerGpuHour(ask, { onlineGpus: market.onlineGpus, busyGpus: market.busyGpus }, token),
    });
  }
  return markets;
}

// -- infeasibility and alternatives ------------------------------------------------------------------

/**
 * Free GPUs over the quote's window per (model, region), for devices that pass the request's
 * attribute filters (VRAM, connectivity, security, supplier network; not count, not price), in the
 * requested models (any region) or the requested regions (any model); `imageGpus`: those of them on
 * devices that run container images (what a request with a workload can use).
 */
async function freeCapacity(db: Db, request: ClusterRequest, window: { startsAt: Date; endsAt: Date }, minScore: number): Promise<(FreeGpus & { imageGpus: number })[]> {
  const connectivity = ConnectivityTier.options.filter((tier) => CONNECTIVITY_TIER_RANK[tier] >= CONNECTIVITY_TIER_RANK[request.connectivityTier]);
  const security = SecurityTier.options.filter((tier) => SECURITY_TIER_RANK[tier] >= requiredSecurityRank(request));
  const rows = await db.$queryRaw<{ gpu_model_id: string; region: string; free: bigint; images: bigint }[]>`
    select d.gpu_model_id, d.region, sum(d.gpu_count)::bigint as free, coalesce(sum(d.gpu_count) filter (where d.runs_images), 0)::bigint as images
      from device d
     where ${RENTABLE_DEVICE} and d.gpu_count > 0 and d.verification_score_bps >= ${minScore}::int
       and (d.gpu_model_id = any(${request.gpuModelIds}::text[]) or d.region = any(${request.regions}::text[]))
       and d.vram_gb >= ${request.minVramGb}::int
       and d.connectivity_tier::text = any(${connectivity}::text[]) and d.security_tier::text = any(${security}::text[])
       and d.network::text = any(${request.supplierNetworks}::text[])
       and d.id not in (select a.device_id from allocation a
                         where a.status = 'ACTIVE'
                           and tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(${window.startsAt}::timestamptz, ${window.endsAt}::timestamptz, '[)'))
     group by d.gpu_model_id, d.region`;
  return rows.map((r) => ({ gpuModelId: r.gpu_model_id, region: r.region, freeGpus: Number(r.free), imageGpus: Number(r.images) }));
}

const byFree = (a: FreeGpus, b: FreeGpus) => b.freeGpus - a.freeGpus || (a.gpuModelId < b.gpuModelId ? -1 : a.gpuModelId > b.gpuModelId ? 1 : a.region < b.region ? -1 : a.region > b.region ? 1 : 0);

async function infeasible(
  db: Db,
  request: ClusterRequest,
  window: { startsAt: Date; endsAt: Date },
  minScore: number,
  constraint: PlacementConstraint,
  reason: string,
): Promise<QuoteInfeasible> {
  const counted = await freeCapacity(db, request, window, minScore);
  // A request with a workload can only use devices that run images: only those are alternatives.
  const needsImages = request.workload !== undefined;
  const free = counted.map(({ imageGpus, ...f }) => (needsImages ? { ...f, freeGpus: imageGpus } : f)).filter((f) => f.freeGpus > 0);
  const models = new Set(request.gpuModelIds);
  const regions = new Set(request.regions);
  const requested = free.filter((f) => models.has(f.gpuModelId) && regions.has(f.region)).sort(byFree);
  const otherRegions = free.filter((f) => models.has(f.gpuModelId) && !regions.has(f.region)).sort(byFree);
  const otherModels = free.filter((f) => !models.has(f.gpuModelId) && regions.has(f.region)).sort(byFree);
  const names = request.gpuModelIds.map(modelName).join(" or ");
  let message = reason;
  // The matcher reads only the requested models in the requested regions (with a workload, only the
  // devices there that run images), so it cannot tell "none runs images here" from "not in these
  // regions" from "nowhere": say which from the network-wide counts.
  // A live index sees every device and names `runtime` itself; candidate reads never do.
  if (constraint === "gpuModel" || constraint === "region" || constraint === "runtime") {
    const withoutImages = counted.reduce((n, f) => n + (models.has(f.gpuModelId) && regions.has(f.region) ? f.freeGpus - f.imageGpus : 0), 0);
    if (needsImages && requested.length === 0 && withoutImages > 0) {
      constraint = "runtime";
      message =
        `no free ${names} GPUs matching the request in ${request.regions.join(", ")} on devices that run container images ` +
        `(the ${withoutImages} free there run only their owners' command; without an image the cluster could use them)`;
    } else {
      constraint = otherRegions.length || requested.length ? "region" : "gpuModel";
      message = `no free ${names} GPUs matching the request ${constraint === "region" ? `in ${request.regions.join(", ")}` : "on the network"}`;
    }
  }
  const list = (items: FreeGpus[]) => items.slice(0, 5).map((f) => `${f.freeGpus} ${modelName(f.gpuModelId)} in ${f.region}`).join(", ");
  const parts = [message];
  if (otherRegions.length) parts.push(`elsewhere: ${list(otherRegions)}`);
  if (otherModels.length) parts.push(`other models in ${request.regions.join(", ")}: ${list(otherModels)}`);
  return { ok: false, constraint, message: parts.join("; "), requested, otherRegions, otherModels };
}

function modelName(id: string): string {
  return gpuModel(id)?.name ?? id;
}

// -- reading a quote back, and the deploy step's claim ------------------------------------------------

export interface QuoteView {
  clusterId: string;
  renterId: string;
  status: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** REQUESTED and not expired: its devices are held for it. */
  held: boolean;
  paymentToken: PaymentToken;
  gpuCount: number;
  durationHours: number;
  /** The columns the payment must match (the on-chain lease's price and deposit). */
  pricePerSecond: bigint;
  depositAmount: bigint;
  /** The quote as offered; null for a cluster that was not created by createHeldQuote. */
  devices: QuotedDevice[] | null;
  markets: MarketLoadView[] | null;
  breakdown: QuoteBreakdown | null;
  /** Held devices still ACTIVE for it. */
  heldDeviceIds: string[];
}

/** A quote as stored (for the pay page and the payment check: price and deposit come from here, never from the client). */
export async function getQuote(db: Db, clusterId: string, now: Date): Promise<QuoteView | null> {
  const cluster = await db.cluster.findUnique({
    where: { id: clusterId },
    select: {
      id: true, renterId: true, status: true, createdAt: true, quoteExpiresAt: true, paymentToken: true, gpuCount: true, durationHours: true,
      pricePerSecond: true, depositAmount: true, quote: true, allocations: { where: { status: "ACTIVE" }, select: { deviceId: true }, orderBy: { deviceId: "asc" } },
    },
  });
  if (!cluster) return null;
  const stored = cluster.quote as StoredQuote | null;
  return {
    clusterId: cluster.id,
    renterId: cluster.renterId,
    status: cluster.status,
    createdAt: cluster.createdAt,
    expiresAt: cluster.quoteExpiresAt,
    held: cluster.status === "REQUESTED" && cluster.quoteExpiresAt !== null && cluster.quoteExpiresAt > now,
    paymentToken: cluster.paymentToken,
    gpuCount: cluster.gpuCount,
    durationHours: cluster.durationHours,
    pricePerSecond: cluster.pricePerSecond,
    depositAmount: cluster.depositAmount,
    devices: stored ? stored.devices.map((d) => ({ ...d, askPerGpuHour: BigInt(d.askPerGpuHour), surgeBps: BigInt(d.surgeBps) })) : null,
    markets: stored ? stored.markets.map((m) => ({ ...m, utilisationBps: BigInt(m.utilisationBps), surgeBps: BigInt(m.surgeBps) })) : null,
    breakdown: stored ? breakdownFromJson(stored.breakdown) : null,
    heldDeviceIds: cluster.allocations.map((a) => a.deviceId),
  };
}

type Jsonified<T> = T extends bigint ? string : T extends Date ? string : T extends (infer U)[] ? Jsonified<U>[] : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;

interface StoredQuote {
  version: 1;
  devices: Jsonified<QuotedDevice>[];
  markets: Jsonified<MarketLoadView>[];
  breakdown: Jsonified<QuoteBreakdown>;
}

/** Bigints as decimal strings (JSON has no integers beyond 2^53). */
function toJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

const BREAKDOWN_BIGINTS = [
  "seconds", "gpuHours", "floorPerGpuHour", "surgeBps", "ratePerGpuSecond", "pricePerGpuHour", "pricePerSecond", "total", "feeBps", "burnBps", "fee", "burn", "treasury", "suppliers",
] as const;

function breakdownFromJson(json: Jsonified<QuoteBreakdown>): QuoteBreakdown {
  const out = { ...json } as unknown as Record<string, unknown>;
  for (const key of BREAKDOWN_BIGINTS) out[key] = BigInt(json[key]);
  out.hyperscaler = json.hyperscaler
    ? { pricePerGpuHour: BigInt(json.hyperscaler.pricePerGpuHour), total: BigInt(json.hyperscaler.total), saving: BigInt(json.hyperscaler.saving), savingBps: BigInt(json.hyperscaler.savingBps) }
    : null;
  return out as unknown as QuoteBreakdown;
}

export interface ClaimedHolds {
  /** Held allocations kept and re-windowed to the deployment: the nodes to deploy. */
  kept: { id: string; deviceId: string; gpuCount: number }[];
  /** Held allocations released because their device is gone (offline) or taken over the real window. */
  released: { id: string; deviceId: string }[];
}

/**
 * The deploy step's first move for a paid cluster: deposit journal + PAID → MATCHING + the claim of
 * the quote's held devices (`gpumesh_claim_held`), in ONE statement under the cluster row lock. Held
 * allocations whose device is still ONLINE and free over [at, endsAt) are re-windowed to it (the ack
 * deadline and the lease then run from the deployment, not from the quote); the rest are released with
 * `releaseReason`, and the deploy step matches replacements for exactly those GPUs. A cluster without
 * holds (not quoted) moves as `startMatchingSql` moves it. A replay (already MATCHING) claims nothing.
 */
export async function startMatchingWithHolds(
  db: Db,
  cluster: { id: string; renterId: string; paymentToken: PaymentToken; depositAmount: bigint },
  options: { reason: string; at: Date; endsAt: Date; releaseReason: string },
): Promise<TransitionResult & ClaimedHolds> {
  const move = transitionSql(cluster.id, "MATCHING", options.reason, { expectedFrom: "PAID", at: options.at });
  const claim = Prisma.sql`gpumesh_claim_held(t.changed, ${cluster.id}::uuid, ${options.at}::timestamptz, ${options.endsAt}::timestamptz, ${options.releaseReason}::text)`;
  type Row = TransitionSqlRow & { kept_ids: string[]; kept_devices: string[]; kept_gpus: number[]; held_released_ids: string[]; held_released_devices: string[] };
  const columns = Prisma.sql`t.from_status, t.changed, t.event_id, t.released_ids, t.released_devices,
    h.kept_ids, h.kept_devices, h.kept_gpus, h.released_ids as held_released_ids, h.released_devices as held_released_devices`;
  // LATERAL on t.changed orders the calls: the claim runs after the move, under its row lock.
  const rows = cluster.depositAmount === 0n
    ? await db.$queryRaw<Row[]>`select ${columns} from ${move.call} t cross join lateral ${claim} h`
    : await db.$queryRaw<Row[]>`select ${columns} from ${depositJournalCall(cluster, options.at)} j, ${move.call} t cross join lateral ${claim} h`;
  const row = rows[0];
  const result = move.result(row);
  return {
    changed: result.changed,
    from: result.from,
    to: result.to,
    event: result.event as ClusterTransitionEvent | null,
    kept: (row?.kept_ids ?? []).map((id, i) => ({ id, deviceId: row!.kept_devices[i]!, gpuCount: row!.kept_gpus[i]! })),
    released: (row?.held_released_ids ?? []).map((id, i) => ({ id, deviceId: row!.held_released_devices[i]! })),
  };
}

