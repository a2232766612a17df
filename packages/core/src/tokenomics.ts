import { cumulativeEmission, GENESIS_SUPPLY } from "./emission.ts";

/**
 * A what-if projection of MESH supply (the tokenomics simulator on /rewards): supply grows by the
 * fixed emission schedule (emission.ts, the program's own integer maths) and shrinks by what demand
 * burns. Demand is what renters spend per year, in MESH base units; the protocol keeps `feeBps` of it
 * and burns `burnShareBps` of that fee (DESIGN.md's burn-and-mint: demand burns, supply is minted).
 * Everything is integer base units; growth compounds yearly in basis points, floored each year.
 *
 * It is a model, not a forecast: demand paid in USDC burns nothing on-chain today, so `demand` here is
 * the part paid in MESH.
 */
export const HOURS_PER_YEAR = 8_760;

export interface TokenomicsInput {
  /** Renter spend paid in MESH in year 1, base units. */
  initialDemand: bigint;
  /** Yearly demand growth in basis points (2_500 = +25 %/yr; negative shrinks, at least −10_000). */
  demandGrowthBps: number;
  /** Protocol fee on demand, basis points (0–10_000). */
  feeBps: number;
  /** Share of the fee burned, basis points (0–10_000). */
  burnShareBps: number;
  /** Years to project (1–50; the simulator shows 20). */
  years: number;
}

export interface TokenomicsYear {
  year: number;
  demand: bigint;
  emitted: bigint;
  burned: bigint;
  /** Total supply at the end of the year: genesis + emitted − burned so far, never below zero. */
  supply: bigint;
  cumulativeEmitted: bigint;
  cumulativeBurned: bigint;
}

function checkBps(name: string, value: number, min: number, max: number) {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
}

export function projectSupply(input: TokenomicsInput): TokenomicsYear[] {
  if (input.initialDemand < 0n) throw new RangeError("initialDemand must not be negative");
  checkBps("demandGrowthBps", input.demandGrowthBps, -10_000, 1_000_000);
  checkBps("feeBps", input.feeBps, 0, 10_000);
  checkBps("burnShareBps", input.burnShareBps, 0, 10_000);
  checkBps("years", input.years, 1, 50);
  const rows: TokenomicsYear[] = [];
  let demand = input.initialDemand;
  let cumulativeBurned = 0n;
  for (let year = 1; year <= input.years; year++) {
    if (year > 1) demand = (demand * BigInt(10_000 + input.demandGrowthBps)) / 10_000n;
    const cumulativeEmitted = cumulativeEmission(year * HOURS_PER_YEAR);
    const emitted = cumulativeEmitted - cumulativeEmission((year - 1) * HOURS_PER_YEAR);
    const fee = (demand * BigInt(input.feeBps)) / 10_000n;
    // Nothing burns below zero supply: once the model has burned everything, it burns no more.
    const available = GENESIS_SUPPLY + cumulativeEmitted - cumulativeBurned;
    const wanted = (fee * BigInt(input.burnShareBps)) / 10_000n;
    const burned = wanted < available ? wanted : available;
    cumulativeBurned += burned;
    rows.push({ year, demand, emitted, burned, supply: available - burned, cumulativeEmitted, cumulativeBurned });
  }
  return rows;
}
