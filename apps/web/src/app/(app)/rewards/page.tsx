import { EMISSION_END_HOUR, gpuModel, MESH_UNIT } from "@gpumesh/core";
import type { Metadata } from "next";
import { money, utcTime } from "@/lib/format.ts";
import { requireSession } from "@/server/auth/session.ts";
import { logger } from "@/server/logger.ts";
import { emissionSummary, type EmissionSummary } from "@/server/services/rewards/emission.ts";
import { walletRewards, type RewardEpochView, type WalletRewards } from "@/server/services/rewards/wallet-rewards.ts";
import { ClaimButton } from "./_components/claim-button.tsx";
import { EmissionChart, MintBurnBars } from "./_components/emission-chart.tsx";
import { TokenomicsSimulator } from "./_components/tokenomics-simulator.tsx";

export const metadata: Metadata = { title: "Rewards" };
export const dynamic = "force-dynamic";

const HOURS_PER_YEAR = 8_760;
const mesh = (units: bigint, digits = 6) => money(units, "MESH", digits);
const count = (value: bigint | number) => value.toLocaleString("en-US");
const meshNumber = (units: bigint) => Number(units / 1_000n) / Number(MESH_UNIT / 1_000n);

/** Loads a part of the page; a failure shows that part's error state instead of the whole page failing. */
async function attempt<T>(what: string, load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch (error) {
    logger.warn({ err: error }, "rewards page: %s could not be loaded", what);
    return null;
  }
}

function share(device: { weight: bigint }, epoch: RewardEpochView): string {
  if (epoch.totalWeight === 0n) return "—";
  return `${(Number((device.weight * 1_000_000n) / epoch.totalWeight) / 10_000).toLocaleString("en-US", { maximumFractionDigits: 4 })} %`;
}

type DeviceRewardView = RewardEpochView["devices"][number];
const REASON_TEXT: Record<DeviceRewardView["reason"], (device: DeviceRewardView) => string> = {
  EARNED: () => "yes",
  OFFLINE: () => "no: offline the whole hour",
  PAUSED: () => "no: you paused it during the hour (a paused device takes no new leases)",
  CHECK_FAILED: () => "no: a proof-of-work check in the hour failed or went unanswered",
  NOT_STAKED: () => "no: not staked",
  STAKE_BELOW_REQUIRED: (device) => `no: stake below the required ${mesh(device.requiredStake, 0)}`,
  UNSTAKING: () => "no: unstaking",
  NOT_VERIFIED: () => "no: not verified (no passing check yet, score below the floor, or suspended) when the hour was computed",
};

function EpochBreakdown({ epoch }: { epoch: RewardEpochView }) {
  return (
    <section className="epoch" aria-labelledby={`epoch-${epoch.epoch}`} data-testid="reward-epoch">
      <h3 id={`epoch-${epoch.epoch}`}>
        Epoch {epoch.epoch} <span className="muted">· {utcTime(epoch.hourStart)} · {epoch.status === "POSTED" ? "posted" : "computed, posting…"}</span>
      </h3>
      <p className="muted">
        Pool <strong data-testid="epoch-pool">{mesh(epoch.pool)}</strong> shared over total weight <strong data-testid="epoch-total-weight">{count(epoch.totalWeight)}</strong>
        {epoch.postedTxSignature ? <> · root posted in <a href={`/tx/${epoch.postedTxSignature}`}><code className="signature">{epoch.postedTxSignature}</code></a></> : null}. Your devices earned <strong>{mesh(epoch.amount)}</strong>.
      </p>
      <div tabIndex={0} role="region" aria-label={`Epoch ${epoch.epoch}: rewards per device`} className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">GPUs</th>
              <th scope="col">Online</th>
              <th scope="col">Performance weight</th>
              <th scope="col">Counted</th>
              <th scope="col">Weight = GPUs × perf. × seconds</th>
              <th scope="col">Reward = pool × weight ÷ total</th>
            </tr>
          </thead>
          <tbody>
            {epoch.devices.map((device) => (
              <tr key={device.deviceId} data-testid="reward-device">
                <td><a href={`/supply/devices/${device.deviceId}`}>{device.name}</a><br /><span className="muted">{(device.gpuModelId && gpuModel(device.gpuModelId)?.name) ?? device.gpuModelId ?? "CPU"}</span></td>
                <td>{device.gpuCount}</td>
                <td>{count(device.onlineSeconds)} s <span className="muted">({(device.uptimeBps / 100).toFixed(2)} %)</span></td>
                <td>{count(device.performanceWeightBps)} bps</td>
                <td data-testid="device-reason" data-reason={device.reason}>{REASON_TEXT[device.reason](device)}</td>
                {device.reason === "EARNED" ? (
                  <>
                    <td data-testid="device-weight">{device.gpuCount} × {count(device.performanceWeightBps)} × {count(device.onlineSeconds)} = {count(device.weight)}</td>
                    <td data-testid="device-amount">
                      {mesh(epoch.pool)} × {count(device.weight)} ÷ {count(epoch.totalWeight)} = <strong>{mesh(device.amount)}</strong> <span className="muted">({share(device, epoch)})</span>
                    </td>
                  </>
                ) : (
                  <>
                    <td data-testid="device-weight">0 <span className="muted">(not counted)</span></td>
                    <td data-testid="device-amount"><strong>{mesh(0n)}</strong></td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RewardsPanel({ rewards, cursor }: { rewards: WalletRewards; cursor: string | undefined }) {
  const { items, next_cursor } = rewards.epochs;
  return (
    <section className="panel" aria-labelledby="epochs-heading">
      <h2 id="epochs-heading">Per hour and per device</h2>
      <p className="muted">
        Each hour’s emission is shared by verified devices in proportion to their weight: <strong>weight = GPUs × the model’s performance weight (bps) × seconds online in the hour</strong> (zero when the device was offline all hour, not verified, not staked (each device stakes MESH sized by its weight: an H100 needs 1,000 MESH; unstaking or a stake slashed below that counts as none), or a proof-of-work check in the hour failed or went unanswered: such devices are listed with the reason and earn nothing), and <strong>reward = ⌊pool × weight ÷ total weight⌋</strong>, the few base units left by rounding going to the largest remainders.
      </p>
      {items.length === 0 ? (
        <div className="empty" data-testid="no-rewards">
          <p>{cursor ? "No older epochs." : "No rewards yet. Devices earn from every hour they are online and verified; each hour is computed and posted shortly after it ends."}</p>
          {cursor ? null : <p><a href="/supply">Add a device on the Supply page</a></p>}
        </div>
      ) : (
        items.map((epoch) => <EpochBreakdown key={epoch.epoch} epoch={epoch} />)
      )}
      <nav aria-label="Epoch pages" className="pager">
        {cursor ? <a href="/rewards">Newest epochs</a> : null}
        {next_cursor ? <a href={`/rewards?cursor=${encodeURIComponent(next_cursor)}`} data-testid="older-epochs">Older epochs</a> : null}
      </nav>
    </section>
  );
}

function ClaimHistory({ rewards }: { rewards: WalletRewards }) {
  return (
    <section className="panel" aria-labelledby="claims-heading">
      <h2 id="claims-heading">Claims</h2>
      {rewards.claims.length === 0 ? (
        <p className="muted" data-testid="no-claims">No claims yet.</p>
      ) : (
        <div tabIndex={0} role="region" aria-label="Claims" className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Amount</th>
                <th scope="col">Cumulative</th>
                <th scope="col">Root of epoch</th>
                <th scope="col">Transaction</th>
              </tr>
            </thead>
            <tbody>
              {rewards.claims.map((claim) => (
                <tr key={claim.txSignature} data-testid="claim-row">
                  <td>{utcTime(claim.claimedAt)}</td>
                  <td>{mesh(claim.amount)}</td>
                  <td>{mesh(claim.cumulative)}</td>
                  <td>{claim.epoch}</td>
                  <td><a href={`/tx/${claim.txSignature}`}><code className="signature">{claim.txSignature}</code></a></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function EmissionPanel({ emission }: { emission: EmissionSummary }) {
  const points = emission.schedule.map((p) => ({ years: p.hour / HOURS_PER_YEAR, hourly: meshNumber(p.hourly), cumulativeM: meshNumber(p.cumulative) / 1_000_000 }));
  return (
    <section className="panel" aria-labelledby="emission-heading" data-testid="emission">
      <h2 id="emission-heading">Emission</h2>
      <div className="stats">
        <div className="stat"><div className="label">Emitting now</div><div className="value">{mesh(emission.hourlyEmission, 2)}</div><div className="hint">per hour (hour {count(emission.hour + 1)} of {count(EMISSION_END_HOUR)})</div></div>
        <div className="stat"><div className="label">Minted on-chain</div><div className="value" data-testid="minted">{mesh(emission.mintedOnChain, 0)}</div><div className="hint">{(emission.progressBps / 100).toFixed(2)} % of the 300M cap; the schedule says {mesh(emission.scheduledCumulative, 0)}</div></div>
        <div className="stat"><div className="label">Burned</div><div className="value">{mesh(emission.burned, 0)}</div><div className="hint">fees of MESH-paid leases</div></div>
        <div className="stat"><div className="label">Circulating</div><div className="value">{mesh(emission.circulating, 0)}</div><div className="hint">supply {mesh(emission.supply, 0)} less {mesh(emission.unclaimedRewards, 0)} unclaimed rewards</div></div>
      </div>
      <div className="progress" role="progressbar" aria-label="Emission progress toward 300 million MESH" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Number((emission.progressBps / 100).toFixed(2))}>
        <span style={{ width: `${Math.max(emission.progressBps / 100, 0.5)}%` }} />
      </div>
      <h3>Schedule</h3>
      <p className="muted">Emission started {utcTime(emission.emissionStart)}: about 4,566 MESH an hour at first, 8 % of the 500M genesis a year decaying continuously, until 300M have been emitted after 175,319 hours (20 years).</p>
      <EmissionChart points={points} nowYears={emission.hour / HOURS_PER_YEAR} />
      <h3>Minted vs burned</h3>
      <MintBurnBars minted={meshNumber(emission.mintedOnChain)} burned={meshNumber(emission.burned)} />
    </section>
  );
}

export default async function RewardsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await requireSession();
  const raw = (await searchParams).cursor;
  const cursor = typeof raw === "string" && raw ? raw : undefined;
  const [rewards, emission] = await Promise.all([
    attempt("rewards", () => walletRewards(session.walletAddress, { cursor, limit: 12 })),
    attempt("emission", () => emissionSummary()),
  ]);
  return (
    <>
      <h1>Rewards</h1>
      <p className="subtitle">Hourly MESH rewards for your devices’ verified work: what each device earned and why, and one transaction to claim everything owed.</p>
      <div className="rewards">
        {rewards ? (
          <>
            <section className="panel" aria-labelledby="claim-heading" data-testid="claim-panel">
              <h2 id="claim-heading">Claimable now</h2>
              <div className="stats">
                <div className="stat"><div className="label">Claimable</div><div className="value" data-testid="claimable" data-units={rewards.claimable.toString()}>{mesh(rewards.claimable)}</div></div>
                <div className="stat"><div className="label">Claimed</div><div className="value" data-testid="claimed">{mesh(rewards.claimed)}</div>{rewards.claimedSource === "index" ? <div className="hint">from our index: the chain is not reachable right now</div> : null}</div>
                <div className="stat"><div className="label">Earned (posted)</div><div className="value">{mesh(rewards.posted?.cumulative ?? 0n)}</div><div className="hint">{rewards.posted ? `through epoch ${rewards.posted.epoch}` : "nothing posted yet"}</div></div>
              </div>
              <ClaimButton sessionWallet={session.walletAddress} claimable={rewards.claimable.toString()} />
            </section>
            <RewardsPanel rewards={rewards} cursor={cursor} />
            <ClaimHistory rewards={rewards} />
          </>
        ) : (
          <section className="panel" role="alert" data-testid="rewards-error">
            <h2>Your rewards could not be loaded</h2>
            <p>Something on our side is not answering (or the page link is out of date). <a href="/rewards">Try again</a> in a moment.</p>
          </section>
        )}
        {emission ? (
          <EmissionPanel emission={emission} />
        ) : (
          <section className="panel" data-testid="emission-error">
            <h2>Emission</h2>
            <p>The emission figures come from the chain, which this server cannot reach right now.</p>
          </section>
        )}
        <section className="panel" aria-labelledby="simulator-heading">
          <h2 id="simulator-heading">Tokenomics simulator</h2>
          <p className="muted">Project MESH supply over 20 years: the fixed emission schedule adds supply, fees on MESH-paid demand burn it. Starts from the program’s fee and burn settings{emission ? "" : " (example settings: the chain is not reachable)"}.</p>
          <TokenomicsSimulator feeBps={emission?.feeBps ?? 250} burnBps={emission?.burnBps ?? 5_000} />
        </section>
      </div>
    </>
  );
}
