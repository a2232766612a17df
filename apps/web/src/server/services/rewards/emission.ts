import "server-only";
import { pdas } from "@gpumesh/chain";
import { cumulativeEmission, EMISSION_CAP, EMISSION_END_HOUR, emissionHour, GENESIS_SUPPLY, hourlyEmission } from "@gpumesh/core";
import { chain } from "../../chain.ts";

/**
 * The MESH emission schedule against what the chain did: the schedule (core emission.ts, the
 * program's own integer maths) says what hour we are in and what it emits; the program says what was
 * minted (cranked) so far; the mint's supply says what was burned (genesis + minted − supply: a burn
 * is the only way supply falls); the rewards vault holds what was minted and not yet claimed.
 */
export interface SchedulePoint {
  hour: number;
  hourly: bigint;
  cumulative: bigint;
}

export interface EmissionSummary {
  emissionStart: Date;
  hour: number;
  hourlyEmission: bigint;
  scheduledCumulative: bigint;
  mintedOnChain: bigint;
  burned: bigint;
  supply: bigint;
  unclaimedRewards: bigint;
  circulating: bigint;
  cap: bigint;
  progressBps: number;
  /** The program's protocol fee and the share of it burned on MESH-paid leases (basis points). */
  feeBps: number;
  burnBps: number;
  schedule: SchedulePoint[];
}

const SAMPLE_EVERY_HOURS = 720; // 30 days: ~245 points over the 20 years

/** The whole schedule, sampled (it never changes, so it is computed once per process). */
let schedule: SchedulePoint[] | undefined;
export function emissionSchedule(): SchedulePoint[] {
  if (!schedule) {
    const hours = [1];
    for (let hour = SAMPLE_EVERY_HOURS; hour < EMISSION_END_HOUR; hour += SAMPLE_EVERY_HOURS) hours.push(hour);
    hours.push(EMISSION_END_HOUR);
    schedule = hours.map((hour) => ({ hour, hourly: hourlyEmission(hour), cumulative: cumulativeEmission(hour) }));
  }
  return schedule;
}

export async function emissionSummary(now = new Date()): Promise<EmissionSummary> {
  const web = chain();
  const config = await web.config();
  const [supplyInfo, vault] = await Promise.all([
    web.connection.getTokenSupply(config.meshMint, "confirmed"),
    web.connection.getTokenAccountBalance(pdas.rewardsVault(web.programId)[0], "confirmed").catch(() => null),
  ]);
  const supply = BigInt(supplyInfo.value.amount);
  const unclaimed = vault ? BigInt(vault.value.amount) : 0n;
  const minted = config.emissionMinted;
  const burned = GENESIS_SUPPLY + minted - supply;
  const hour = emissionHour(Math.floor(now.getTime() / 1000), config.emissionStart);
  return {
    emissionStart: new Date(config.emissionStart * 1000),
    hour,
    hourlyEmission: hourlyEmission(hour + 1),
    scheduledCumulative: cumulativeEmission(hour),
    mintedOnChain: minted,
    burned: burned > 0n ? burned : 0n,
    supply,
    unclaimedRewards: unclaimed,
    circulating: supply - unclaimed,
    cap: EMISSION_CAP,
    progressBps: Number((minted * 10_000n) / EMISSION_CAP),
    feeBps: config.feeBps,
    burnBps: config.burnBps,
    schedule: emissionSchedule(),
  };
}
