/**
 * MESH hourly emission schedule (DESIGN.md, token economics), in the exact integer fixed point the
 * on-chain program uses (programs/gpumesh/src/math.rs). The Rust tests write vectors that
 * `emission.test.ts` replays, so the two can never silently disagree.
 *
 * Real-valued: E_t = S0·r1·q^(t−1), r1 = 0.08/8760, q = 1 − d, C(N) = S0·r1·(1 − q^N)/d, capped at
 * 300,000,000 MESH (reached at hour 175,319). Fixed point (1e18): D = round(d·1e18), Q = 1e18 − D,
 * q^N by binary exponentiation rounding every product up (never under-estimates q^N, so never
 * over-emits); S0·r1 = S0/109,500 exactly, so C(N) = ⌊S0·(1e18 − q^N) / (109,500·D)⌋.
 */
export const MESH_UNIT = 1_000_000n;
export const GENESIS_SUPPLY = 500_000_000n * MESH_UNIT;
export const EMISSION_CAP = 300_000_000n * MESH_UNIT;
export const MAX_SUPPLY = GENESIS_SUPPLY + EMISSION_CAP;
export const EMISSION_END_HOUR = 175_319;
export const SECONDS_PER_HOUR = 3_600;

const FP_ONE = 10n ** 18n;
const D_FP = 13_886_952_395_979n;
const Q_FP = FP_ONE - D_FP;
const R1_DIVISOR = 109_500n;

const mulFpCeil = (a: bigint, b: bigint) => (a * b + FP_ONE - 1n) / FP_ONE;

/** q^n in 1e18 fixed point. */
export function qPow(n: number): bigint {
  let exponent = BigInt(n);
  let result = FP_ONE;
  let base = Q_FP;
  while (exponent > 0n) {
    if (exponent & 1n) result = mulFpCeil(result, base);
    exponent >>= 1n;
    if (exponent > 0n) base = mulFpCeil(base, base);
  }
  return result;
}

/** Cumulative emission after `hours` completed hours, capped, in base units. */
export function cumulativeEmission(hours: number): bigint {
  if (!Number.isSafeInteger(hours) || hours < 0) throw new RangeError(`hours must be a non-negative integer, got ${hours}`);
  if (hours >= EMISSION_END_HOUR) return EMISSION_CAP;
  const uncapped = (GENESIS_SUPPLY * (FP_ONE - qPow(hours))) / (R1_DIVISOR * D_FP);
  return uncapped < EMISSION_CAP ? uncapped : EMISSION_CAP;
}

/** Amount minted for hour t (t ≥ 1; hour 1 is the first hour after emission start). */
export function hourlyEmission(t: number): bigint {
  if (t === 0) return 0n;
  return cumulativeEmission(t) - cumulativeEmission(t - 1);
}

/** Completed emission hours at unix time `now` (seconds). */
export function emissionHour(nowSeconds: number, startSeconds: number): number {
  return nowSeconds <= startSeconds ? 0 : Math.floor((nowSeconds - startSeconds) / SECONDS_PER_HOUR);
}
