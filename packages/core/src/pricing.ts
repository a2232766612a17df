/**
 * Dynamic pricing and the quote breakdown (issue #10 "Quote, then pay"). Pure and integer-exact: every
 * amount is a `bigint` of token base units, every division is written as a floor ⌊·⌋ or a ceiling ⌈·⌉,
 * so the same inputs give the same quote to the base unit on every machine. The server prices; a
 * client's price is never used (DESIGN.md "Never trust a client's price").
 *
 * THE FORMULA
 *   market   one GPU model in one region; u = ⌊busy GPUs · 10⁴ / online GPUs⌋ (bps; no GPU online = 10⁴)
 *   surge    s(u) = 0 for u ≤ T, else ⌊S · (u − T) / (10⁴ − T)⌋      (linear, 0 at T, S at 100 %)
 *   device   p_d = ⌈ask_d · (10⁴ + s(u_market(d))) / 10⁴⌉              per GPU-hour, never below its ask
 *   gang     r = max(1, ⌈max_d p_d / 3600⌉)                             per GPU-SECOND, one rate for all GPUs
 *   lease    price per second = r · G,  total = deposit = r · G · 3600 · H,  shown per GPU-hour = 3600 · r
 * where ask_d is the device's own `pricePerGpuHour` (its floor), G the cluster's GPUs and H its hours.
 *
 * WHY ONE UNIFORM RATE, SET BY THE GANG'S HIGHEST (SURGED) ASK. The on-chain lease has one price per
 * second for the whole cluster and each node is paid `⌊price · gpus / clusterGpus⌋` (allocationRate in
 * packages/db/src/settlement.ts), i.e. the same rate for every GPU. The only uniform rate that pays no
 * device less than it asks is the highest ask in the gang, so that is the price: a clearing price at
 * the marginal seller, as in a uniform-price auction. A per-device sum would be cheaper for the renter
 * in a mixed gang but would be split evenly at settlement, paying the dearer devices below their ask.
 * The matcher picks the cheapest devices first, so the spread inside a gang is usually small.
 *
 * WHY PER GPU-SECOND, ROUNDED UP. The program bills integer base units per second. With price per
 * second = r · G, every node's allocation rate is exactly r · g (no rounding dust, Σ rates = price), and
 * rounding r up keeps every device at or above its ask; the renter pays at most 1 base unit per
 * GPU-second more than the exact figure (< 0.0036 USDC per GPU-hour). At least 1: the program refuses
 * a zero price.
 *
 * FEE AND BURN ARE PARTS OF THE TOTAL, NOT ADDED ON TOP. The renter escrows the deposit and nothing
 * else; at settlement the protocol fee is taken FROM gross (supplier gets gross − fee) and, when paid
 * in MESH, part of the fee is burned (DESIGN.md, token economics). The breakdown shows what the full
 * term would split into, per node as settlement does it: fee_n = ⌊gross_n · fee_bps / 10⁴⌋,
 * burn_n = ⌊fee_n · burn_bps / 10⁴⌋ (MESH only). Time not served is refunded, so these are the amounts
 * at full term (an upper bound for fee and burn).
 *
 * MESH. Device asks and hyperscaler prices are USDC base units. There is no price oracle yet, so MESH
 * quotes are priced from the same USD figure at a fixed 1:1 (1 MESH base unit per USDC base unit; both
 * tokens have 6 decimals): `DEV_TOKEN_RATES`. The conversion is a parameter, rounded up (a device is
 * never paid less than its ask), so an oracle's rate can replace it without touching the formula.
 */
import { BPS_DENOMINATOR } from "./settlement.ts";
import type { PaymentToken } from "./schemas/enums.ts";

/**
 * The surge curve. Below 70 % utilisation a market has spare capacity and suppliers already compete on
 * their asks: the price is the floor. Above it, the last free GPUs get scarce: the price rises linearly
 * to +50 % when every online GPU is busy, which rations the remaining capacity, and — since the surge is
 * paid to the suppliers of that market — pays more people to bring GPUs online exactly where demand is.
 * +50 % keeps even a fully surged quote far below hyperscaler list prices (H100: 2.19 USDC reference vs
 * 12.29 list), so the saving shown never turns into a surprise; a gentler slope would barely signal,
 * a steeper one would make quotes jump between two page loads.
 */
export const SURGE_CURVE = { thresholdBps: 7_000n, maxSurgeBps: 5_000n } as const;
export type SurgeCurve = { thresholdBps: bigint; maxSurgeBps: bigint };

const HOUR_SECONDS = 3_600n;
/** The program holds amounts as u64. */
export const U64_MAX = (1n << 64n) - 1n;

/** Payment-token base units per USDC base unit, as a ratio (amount_token = ⌈usdc · token / usdc⌉). */
export interface TokenRate {
  tokenUnits: bigint;
  usdcUnits: bigint;
}
export type TokenRates = Readonly<Record<PaymentToken, TokenRate>>;

/** Dev conversion: USDC is USDC; MESH priced 1:1 from the same USD figure (no oracle yet; see above). */
export const DEV_TOKEN_RATES: TokenRates = {
  USDC: { tokenUnits: 1n, usdcUnits: 1n },
  MESH: { tokenUnits: 1n, usdcUnits: 1n },
};

export class PricingOverflowError extends RangeError {
  constructor(what: string, value: bigint) {
    super(`${what} (${value}) does not fit the program's u64 amounts`);
    this.name = "PricingOverflowError";
  }
}

/** Busy and online GPUs of one market (GPU model × region). */
export interface MarketLoad {
  onlineGpus: number | bigint;
  busyGpus: number | bigint;
}

/** u = ⌊busy · 10⁴ / online⌋, clamped to [0, 10⁴]; a market with nothing online counts as full. */
export function utilisationBps(load: MarketLoad): bigint {
  const online = BigInt(load.onlineGpus);
  const busy = BigInt(load.busyGpus);
  if (online < 0n || busy < 0n) throw new RangeError("GPU counts must be non-negative");
  if (online === 0n) return BPS_DENOMINATOR;
  const u = (busy * BPS_DENOMINATOR) / online;
  return u > BPS_DENOMINATOR ? BPS_DENOMINATOR : u;
}

/** s(u) = 0 for u ≤ T, else ⌊S · (u − T) / (10⁴ − T)⌋; u above 10⁴ is treated as 10⁴. */
export function surgeBps(utilisation: bigint, curve: SurgeCurve = SURGE_CURVE): bigint {
  if (utilisation < 0n) throw new RangeError("utilisation must be non-negative");
  if (curve.thresholdBps < 0n || curve.thresholdBps >= BPS_DENOMINATOR || curve.maxSurgeBps < 0n) throw new RangeError("invalid surge curve");
  const u = utilisation > BPS_DENOMINATOR ? BPS_DENOMINATOR : utilisation;
  if (u <= curve.thresholdBps) return 0n;
  return (curve.maxSurgeBps * (u - curve.thresholdBps)) / (BPS_DENOMINATOR - curve.thresholdBps);
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/** p = ⌈ask · (10⁴ + surge) / 10⁴⌉: a device's price per GPU-hour after surge, never below its ask. */
export function surgedPricePerGpuHour(askPerGpuHour: bigint, surge: bigint): bigint {
  if (askPerGpuHour < 0n || surge < 0n) throw new RangeError("ask and surge must be non-negative");
  return ceilDiv(askPerGpuHour * (BPS_DENOMINATOR + surge), BPS_DENOMINATOR);
}

/** r = max(1, ⌈pricePerGpuHour / 3600⌉): the per GPU-second rate that covers an hourly price. */
export function ratePerGpuSecond(pricePerGpuHour: bigint): bigint {
  if (pricePerGpuHour < 0n) throw new RangeError("price must be non-negative");
  const r = ceilDiv(pricePerGpuHour, HOUR_SECONDS);
  return r < 1n ? 1n : r;
}

/** USDC base units in the payment token, rounded up (⌈usdc · tokenUnits / usdcUnits⌉). */
export function toTokenUnits(usdc: bigint, token: PaymentToken, rates: TokenRates = DEV_TOKEN_RATES): bigint {
  const rate = rates[token];
  if (rate.tokenUnits <= 0n || rate.usdcUnits <= 0n) throw new RangeError(`invalid ${token} rate`);
  if (usdc < 0n) throw new RangeError("amount must be non-negative");
  return ceilDiv(usdc * rate.tokenUnits, rate.usdcUnits);
}

/** One device of the gang as pricing sees it. */
export interface PricedNode {
  gpuCount: number;
  /** The device's ask per GPU-hour, USDC base units: its floor. */
  askPerGpuHour: bigint;
  /** Surge of the device's market (`surgeBps(utilisationBps(load))`). */
  surgeBps: bigint;
  /** Hyperscaler list price per GPU-hour of its model, USDC base units; null where none rents it. */
  hyperscalerPerGpuHour: bigint | null;
}

export interface QuoteTerms {
  durationHours: number;
  token: PaymentToken;
  /** The protocol's fee and burn rates (program config; basis points). */
  feeBps: bigint | number;
  burnBps: bigint | number;
  rates?: TokenRates;
}

export interface HyperscalerComparison {
  /** List price per GPU-hour in the payment token (GPU-weighted when the gang mixes models, floored). */
  pricePerGpuHour: bigint;
  /** The same GPUs for the same hours at list price. */
  total: bigint;
  /** total − quote total (negative if we are dearer). */
  saving: bigint;
  /** saving · 10⁴ / hyperscaler total, truncated toward zero. */
  savingBps: bigint;
}

export interface QuoteBreakdown {
  token: PaymentToken;
  gpuCount: number;
  durationHours: number;
  seconds: bigint;
  /** G · H. */
  gpuHours: bigint;
  /** Highest ask in the gang, in the payment token: the floor the price starts from. */
  floorPerGpuHour: bigint;
  /** Surge applied to the device that set the price (bps of its ask). */
  surgeBps: bigint;
  /** r: what the renter pays per GPU per second. */
  ratePerGpuSecond: bigint;
  /** 3600 · r: the per GPU-hour price shown. */
  pricePerGpuHour: bigint;
  /** r · G: the lease's price per second (on-chain `price_per_second`). */
  pricePerSecond: bigint;
  /** pricePerSecond · seconds: the deposit, the only amount the renter pays. */
  total: bigint;
  feeBps: bigint;
  burnBps: bigint;
  /** Parts of `total` at full term: fee (of which burn, MESH only, and treasury = fee − burn) and suppliers = total − fee. */
  fee: bigint;
  burn: bigint;
  treasury: bigint;
  suppliers: bigint;
  hyperscaler: HyperscalerComparison | null;
}

function bps(value: bigint | number, what: string): bigint {
  const v = BigInt(value);
  if (v < 0n || v > BPS_DENOMINATOR) throw new RangeError(`${what} must be within 0..10000 bps`);
  return v;
}

/** Prices a gang: the formula at the top of this file. */
export function priceQuote(nodes: readonly PricedNode[], terms: QuoteTerms): QuoteBreakdown {
  if (nodes.length === 0) throw new RangeError("a quote needs at least one device");
  let decidingPrice = -1n;
  let deciding: PricedNode = nodes[0]!;
  for (const node of nodes) {
    const p = surgedPricePerGpuHour(node.askPerGpuHour, node.surgeBps);
    if (p > decidingPrice) {
      decidingPrice = p;
      deciding = node;
    }
  }
  const rates = terms.rates ?? DEV_TOKEN_RATES;
  const r = ratePerGpuSecond(toTokenUnits(decidingPrice, terms.token, rates));
  return breakdownAtRate(r, nodes, terms, { floorPerGpuHour: toTokenUnits(deciding.askPerGpuHour, terms.token, rates), surgeBps: deciding.surgeBps });
}

/**
 * The breakdown of a gang at a given per GPU-second rate (`priceQuote` after choosing r). Exported so a
 * stored quote can be shown again from its rate without re-pricing it.
 */
export function breakdownAtRate(
  rate: bigint,
  nodes: readonly Pick<PricedNode, "gpuCount" | "hyperscalerPerGpuHour">[],
  terms: QuoteTerms,
  origin: { floorPerGpuHour: bigint; surgeBps: bigint },
): QuoteBreakdown {
  if (rate <= 0n) throw new RangeError("rate must be positive");
  if (!Number.isInteger(terms.durationHours) || terms.durationHours <= 0) throw new RangeError("duration must be a positive whole number of hours");
  const feeBps = bps(terms.feeBps, "fee");
  const burnBps = bps(terms.burnBps, "burn");
  const mesh = terms.token === "MESH";
  const hours = BigInt(terms.durationHours);
  const seconds = hours * HOUR_SECONDS;
  let gpus = 0n;
  let fee = 0n;
  let burn = 0n;
  let hyperTotal: bigint | null = 0n;
  for (const node of nodes) {
    if (!Number.isInteger(node.gpuCount) || node.gpuCount <= 0) throw new RangeError("every device needs a positive GPU count");
    const g = BigInt(node.gpuCount);
    gpus += g;
    // Settlement pays each node its own allocation (rate · g per second) and floors fee and burn per
    // allocation on running totals: at full term that is ⌊gross_n · fee⌋ and ⌊fee_n · burn⌋ per node.
    const gross = rate * g * seconds;
    const nodeFee = (gross * feeBps) / BPS_DENOMINATOR;
    fee += nodeFee;
    if (mesh) burn += (nodeFee * burnBps) / BPS_DENOMINATOR;
    if (hyperTotal !== null) {
      hyperTotal = node.hyperscalerPerGpuHour === null ? null : hyperTotal + toTokenUnits(node.hyperscalerPerGpuHour, terms.token, terms.rates) * g * hours;
    }
  }
  const pricePerSecond = rate * gpus;
  const total = pricePerSecond * seconds;
  if (pricePerSecond > U64_MAX) throw new PricingOverflowError("price per second", pricePerSecond);
  if (total > U64_MAX) throw new PricingOverflowError("deposit", total);
  let hyperscaler: HyperscalerComparison | null = null;
  if (hyperTotal !== null && hyperTotal > 0n) {
    const saving = hyperTotal - total;
    hyperscaler = { pricePerGpuHour: hyperTotal / (gpus * hours), total: hyperTotal, saving, savingBps: (saving * BPS_DENOMINATOR) / hyperTotal };
  }
  return {
    token: terms.token,
    gpuCount: Number(gpus),
    durationHours: terms.durationHours,
    seconds,
    gpuHours: gpus * hours,
    floorPerGpuHour: origin.floorPerGpuHour,
    surgeBps: origin.surgeBps,
    ratePerGpuSecond: rate,
    pricePerGpuHour: rate * HOUR_SECONDS,
    pricePerSecond,
    total,
    feeBps,
    burnBps,
    fee,
    burn,
    treasury: fee - burn,
    suppliers: total - fee,
    hyperscaler,
  };
}

/** What a single cheapest free device of a market would be quoted per GPU-hour now (availability tables). */
export function marketPricePerGpuHour(askPerGpuHour: bigint, load: MarketLoad, token: PaymentToken = "USDC", rates: TokenRates = DEV_TOKEN_RATES): bigint {
  const p = surgedPricePerGpuHour(askPerGpuHour, surgeBps(utilisationBps(load)));
  return ratePerGpuSecond(toTokenUnits(p, token, rates)) * HOUR_SECONDS;
}
