import { epochPool, EpochClaimTree, hourlyEmission, isClaimant, STAKE_PER_WEIGHT_UNIT, type DeviceContributionInput, type EpochWindow } from "@gpumesh/core";
import type { Db, DbTransaction } from "./client.ts";
import { Prisma } from "./generated/prisma/client.ts";

/**
 * Reward epochs in Postgres (the math is in packages/core/src/rewards.ts). An epoch is computed once,
 * in one transaction that holds an advisory lock, so two scheduler processes can never store two
 * different trees for the same hour; the RewardEpoch row, its contributions, its leaves and the
 * balances appear together or not at all.
 *
 * Storage grows with what changes, not with everyone ever paid:
 * - reward_contribution: one row per rewarded device per epoch (the supplier's breakdown);
 * - reward_leaf: (epoch, claimant, cumulative) only for claimants paid in that epoch. Epoch t's tree
 *   is, for each claimant, its newest leaf with epoch ≤ t; no proofs are stored, they are built on
 *   demand from that set (`rewardClaimFor`);
 * - reward_balance: every claimant's newest cumulative. We keep this table rather than asking the
 *   leaf history "newest leaf per claimant" each hour: that question costs a walk over every
 *   claimant's history (or a skip scan Postgres does not have), while the next epoch needs exactly
 *   the current balances, one row per claimant, and updating 100k rows per hour in the same
 *   transaction keeps it equal to the leaves by construction.
 *
 * At a million devices the epoch runs set-based in Postgres (one statement: inputs, allocation,
 * contributions, balances, leaves), so no per-device row crosses the wire; only the balances come
 * back, to build the tree and its root. `allocateEpoch` in core stays the definition: the
 * allocation below is its SQL form, and test/rewards-history.test.ts checks that they agree to the
 * base unit (and the stored trees against the full-tree method) over random histories.
 */

/** Advisory lock key serialising epoch computation across scheduler processes ("GPMR"). */
const REWARDS_LOCK_KEY = 0x47504d52;

/**
 * Every device with GPUs that existed during the window, with its whole seconds online in the window
 * (window minus the part before it was created minus its outages) and whether it stayed verified:
 * no challenge issued in the hour failed or went unanswered, the score is at or above the floor,
 * and the device is not suspended (or still unverified); and whether it is staked: its mirrored
 * `device_stake` (written by the chain indexer) is STAKED, not unstaking, with at least the device's
 * required stake (GPUs × the model's weight × STAKE_PER_WEIGHT_UNIT, core `requiredStake`) as of
 * when the epoch is computed; and whether its supplier paused it at any moment of the hour
 * (device_pause). Outages and failed challenges are read
 * for the window only (indexes on ended_at, the open-outage index, and issued_at), then joined by
 * hash: no per-device probe, so a million devices cost one scan of `device`.
 */
export function inputsQuery(window: EpochWindow, minVerificationScoreBps: number, excludedClaimants: readonly string[]): Prisma.Sql {
  const start = Prisma.sql`${window.start}::timestamptz`;
  const end = Prisma.sql`${window.end}::timestamptz`;
  return Prisma.sql`
    with outage as (
      select device_id, started_at, ended_at from device_outage where ended_at is null and started_at < ${end}
      union all
      select device_id, started_at, ended_at from device_outage where ended_at > ${start} and started_at < ${end}
    ), down as (
      -- created_at by one index probe per outage: a join would hash the whole device table for it.
      select o.device_id,
             sum(extract(epoch from (least(coalesce(o.ended_at, ${end}), ${end})
                                     - greatest(o.started_at, ${start}, (select od.created_at from device od where od.id = o.device_id))))) as seconds
        from outage o
       group by o.device_id
    ), paused as (
      -- Paused at any moment of the hour: its supplier took it off the market, so no reward for it.
      select device_id from device_pause where ended_at is null and started_at < ${end}
      union
      select device_id from device_pause where ended_at > ${start} and started_at < ${end}
    ), failed as (
      select distinct device_id from verification_challenge
       where status in ('FAILED', 'EXPIRED') and issued_at >= ${start} and issued_at < ${end}
    )
    select d.id as device_id, a.wallet_address as claimant, d.gpu_count, g.performance_weight_bps,
           floor(greatest(0, extract(epoch from (${end} - greatest(${start}, d.created_at))) - coalesce(o.seconds, 0)))::int as online_seconds,
           (d.status in ('ONLINE', 'OFFLINE') and d.verification_score_bps >= ${minVerificationScoreBps} and f.device_id is null) as verified,
           coalesce(st.status = 'STAKED' and st.amount >= d.gpu_count::bigint * g.performance_weight_bps * ${STAKE_PER_WEIGHT_UNIT}::bigint, false) as staked,
           p.device_id is not null as paused
      from device d
      join gpu_model g on g.id = d.gpu_model_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
      left join down o on o.device_id = d.id
      left join failed f on f.device_id = d.id
      left join paused p on p.device_id = d.id
      left join device_stake st on st.device_id = d.id
     where d.gpu_count > 0 and d.created_at < ${end} and a.wallet_address <> all(${[...excludedClaimants]}::text[])`;
}

/** Each device's contribution input for the window (the form core `allocateEpoch` takes). */
export async function epochContributionInputs(db: Db | DbTransaction, window: EpochWindow, minVerificationScoreBps: number): Promise<DeviceContributionInput[]> {
  const rows = await db.$queryRaw<{ device_id: string; claimant: string; gpu_count: number; performance_weight_bps: number; online_seconds: number; verified: boolean; staked: boolean; paused: boolean }[]>`
    select * from (${inputsQuery(window, minVerificationScoreBps, [])}) i order by device_id`;
  return rows.map((r) => ({
    deviceId: r.device_id,
    claimant: r.claimant,
    gpuCount: r.gpu_count,
    performanceWeightBps: r.performance_weight_bps,
    onlineSeconds: r.online_seconds,
    verified: r.verified,
    staked: r.staked,
    paused: r.paused,
  }));
}

/**
 * Suppliers with a device in the window whose wallet is not a 32-byte base58 public key: they cannot
 * claim, so they are left out of the hour rather than failing it. One row per supplier wallet, checked
 * here because Postgres has no base58.
 */
async function unclaimableWallets(db: DbTransaction, window: EpochWindow): Promise<string[]> {
  const rows = await db.$queryRaw<{ wallet: string }[]>`
    select distinct a.wallet_address as wallet
      from account a join supplier s on s.account_id = a.id
     where exists (select 1 from device d where d.supplier_id = s.id and d.gpu_count > 0 and d.created_at < ${window.end}::timestamptz)`;
  return rows.map((r) => r.wallet).filter((wallet) => !isClaimant(wallet));
}

export interface ComputedEpoch {
  epoch: number;
  created: boolean;
  pool: bigint;
  /** Σ weight of the devices rewarded (the denominator of every share). */
  totalWeight: bigint;
  devicesRewarded: number;
  /** Hex root of the epoch's tree (all zeros when no one was ever paid). */
  root: string;
  /** Σ cumulative amounts in the tree. */
  total: bigint;
  /** Leaves in the tree, every claimant ever paid (when computed now). */
  claimants?: number;
  /** Leaves stored for this epoch: the claimants paid in it. */
  leavesStored: number;
}

/** The newest computed (or posted) epoch, if any. */
export function latestRewardEpoch(db: Db) {
  return db.rewardEpoch.findFirst({ orderBy: { epoch: "desc" } });
}

/** Every claimant's cumulative amount as of epoch `epoch`, in tree order. */
async function balancesAt(db: Db | DbTransaction, epoch: number): Promise<[string, bigint][]> {
  const rows = await db.$queryRaw<{ claimant: string; cumulative: bigint }[]>`
    select claimant, cumulative from (
      select b.claimant,
             case when b.epoch <= ${epoch} then b.cumulative
                  else (select l.cumulative from reward_leaf l where l.claimant = b.claimant and l.epoch <= ${epoch} order by l.epoch desc limit 1) end as cumulative
        from reward_balance b
    ) t where cumulative is not null
    order by claimant collate "C"`;
  return rows.map((r) => [r.claimant, BigInt(r.cumulative)]);
}

/**
 * Computes and stores epoch `window.epoch` unless it (or a later one) already exists. The pool is
 * what was emitted up to this hour minus what the previous stored epoch handed out; the tree carries
 * every claimant's cumulative amount forward. Devices without weight are not stored (a network of a
 * million mostly-idle devices would otherwise write a million zero rows per hour).
 */
export async function computeRewardEpoch(
  db: Db,
  window: EpochWindow,
  options: { minVerificationScoreBps: number; onSkippedClaimant?: (wallet: string) => void; /** Filled with milliseconds per phase (the bench reads it). */ timings?: Record<string, number> },
): Promise<ComputedEpoch | null> {
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    if (options.timings) options.timings[name] = now - mark;
    mark = now;
  };
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`select pg_advisory_xact_lock(${REWARDS_LOCK_KEY}::int)`;
      const existing = await tx.rewardEpoch.findUnique({ where: { epoch: window.epoch } });
      if (existing) {
        return {
          epoch: existing.epoch,
          created: false,
          pool: existing.pool,
          totalWeight: existing.totalWeight,
          devicesRewarded: await tx.rewardContribution.count({ where: { epoch: existing.epoch, amount: { gt: 0 } } }),
          root: existing.merkleRoot ?? "0".repeat(64),
          total: existing.cumulativeTotal,
          leavesStored: await tx.rewardLeaf.count({ where: { epoch: existing.epoch } }),
        };
      }
      // A later epoch exists: this hour's emission already rolled into it.
      const later = await tx.rewardEpoch.findFirst({ where: { epoch: { gt: window.epoch } }, select: { epoch: true } });
      if (later) return null;
      const previous = await tx.rewardEpoch.findFirst({ where: { epoch: { lt: window.epoch } }, orderBy: { epoch: "desc" }, select: { cumulativeTotal: true } });
      const previousTotal = previous?.cumulativeTotal ?? 0n;
      const pool = epochPool(window.epoch, previousTotal);
      phase("lock");
      const skipped = await unclaimableWallets(tx, window);
      for (const wallet of skipped) options.onSkippedClaimant?.(wallet);
      phase("wallets");

      await tx.rewardEpoch.create({
        data: { epoch: window.epoch, hourStart: window.start, emission: hourlyEmission(window.epoch), cumulativeTotal: previousTotal, pool, totalWeight: 0n, status: "COMPUTED" },
      });
      // The allocation of core `allocateEpoch` in SQL: share = floor(pool × weight / Σ weight), then one
      // base unit each to the largest remainders, ties by device id (uuid order = its lowercase text
      // order, which is what core compares). pool × weight passes 2^63, hence numeric.
      await tx.$executeRaw`set local work_mem = '256MB'`;
      const [stored] = await tx.$queryRaw<{ total_weight: bigint; devices_rewarded: number; leaves_stored: number; distributed: bigint }[]>`
        with inputs as (${inputsQuery(window, options.minVerificationScoreBps, skipped)}),
        weighted as (
          -- Seconds capped at the hour, as in core contributionWeight, so weight = gpu_seconds × weight_bps
          -- holds for every stored row (an outage recorded before the device existed counts negative).
          select device_id, claimant, gpu_count::bigint * least(online_seconds, 3600) as gpu_seconds, performance_weight_bps as weight_bps,
                 round(least(online_seconds, 3600) * 10000 / 3600.0)::int as uptime_bps,
                 case when verified and staked and not paused and online_seconds > 0 then gpu_count::bigint * performance_weight_bps * least(online_seconds, 3600) else 0 end as weight
            from inputs
        ),
        rewarded as (select * from weighted where weight > 0),
        totals as (select sum(weight)::numeric as total_weight from rewarded),
        shares as (
          select r.*, div(${pool}::numeric * r.weight, t.total_weight)::bigint as base, mod(${pool}::numeric * r.weight, t.total_weight)::bigint as remainder
            from rewarded r, totals t
        ),
        leftover as (select ${pool}::bigint - coalesce(sum(base), 0)::bigint as units from shares),
        allocated as (
          select s.device_id, s.claimant, s.gpu_seconds, s.weight_bps, s.uptime_bps, s.weight,
                 s.base + case when row_number() over (order by s.remainder desc, s.device_id) <= l.units then 1 else 0 end as amount
            from shares s, leftover l
        ),
        contributions as (
          insert into reward_contribution (epoch, device_id, gpu_seconds, weight_bps, uptime_bps, weight, amount)
          select ${window.epoch}, device_id, gpu_seconds, weight_bps, uptime_bps, weight, amount from allocated order by device_id
        ),
        paid as (select claimant, sum(amount)::bigint as amount from allocated group by claimant having sum(amount) > 0),
        balances as (
          insert into reward_balance as b (claimant, cumulative, epoch)
          select claimant, amount, ${window.epoch} from paid
          on conflict (claimant) do update set cumulative = b.cumulative + excluded.cumulative, epoch = excluded.epoch
          returning claimant, cumulative
        ),
        leaves as (insert into reward_leaf (epoch, claimant, cumulative) select ${window.epoch}, claimant, cumulative from balances)
        select coalesce((select total_weight from totals), 0)::bigint as total_weight,
               (select count(*) from allocated where amount > 0)::int as devices_rewarded,
               (select count(*) from paid)::int as leaves_stored,
               coalesce((select sum(amount) from paid), 0)::bigint as distributed`;

      phase("allocate+store");
      const balances = await balancesAt(tx, window.epoch);
      phase("read balances");
      const tree = new EpochClaimTree(balances);
      phase("tree");
      // The balances must be the previous tree plus this epoch's payouts: anything else means
      // reward_balance drifted from the leaves, and posting would strand or over-promise MESH.
      if (tree.total !== previousTotal + BigInt(stored!.distributed)) {
        throw new Error(`reward epoch ${window.epoch}: balances total ${tree.total}, expected ${previousTotal} + ${stored!.distributed}`);
      }
      await tx.rewardEpoch.update({
        where: { epoch: window.epoch },
        data: { cumulativeTotal: tree.total, totalWeight: BigInt(stored!.total_weight), merkleRoot: tree.size ? tree.root : null },
      });
      if (tree.size) rememberTree(db, window.epoch, tree);
      phase("epoch row");
      return {
        epoch: window.epoch,
        created: true,
        pool,
        totalWeight: BigInt(stored!.total_weight),
        devicesRewarded: stored!.devices_rewarded,
        root: tree.root,
        total: tree.total,
        claimants: tree.size,
        leavesStored: stored!.leaves_stored,
      };
    },
    // At a million devices on a busy 2-core machine the epoch statement alone took over 5 minutes
    // (bench/RESULTS.md): a shorter timeout would fail the same hour on every retry.
    { timeout: 900_000, maxWait: 30_000 },
  );
}

/** Marks an epoch posted (idempotent; the chain indexer may have done it first). */
export async function markRewardEpochPosted(db: Db, epoch: number, signature: string | null, at: Date): Promise<void> {
  await db.rewardEpoch.updateMany({
    where: { epoch, status: { not: "POSTED" } },
    data: { status: "POSTED", postedAt: at, ...(signature ? { postedTxSignature: signature } : {}) },
  });
}

/** What a wallet needs to claim: its cumulative amount in a posted epoch's tree and the proof for it. */
export interface RewardClaimProof {
  epoch: number;
  /** The posted root (hex) the proof verifies against. */
  root: string;
  cumulative: bigint;
  /** Sibling hashes (hex) from leaf to root. */
  proof: string[];
}

/**
 * Built trees, per database client, newest last. Two per client: the program accepts a claim against
 * the current root and the previous one, so those are the proofs asked for; an older epoch is
 * rebuilt when asked (and pushes the oldest out). A tree of 100k claimants is about 10 MB.
 */
const TREES_KEPT = 2;
const trees = new WeakMap<Db, Map<string, Promise<EpochClaimTree>>>();

function cacheFor(db: Db): Map<string, Promise<EpochClaimTree>> {
  let cache = trees.get(db);
  if (!cache) trees.set(db, (cache = new Map()));
  return cache;
}

function keep(cache: Map<string, Promise<EpochClaimTree>>, key: string, tree: Promise<EpochClaimTree>): void {
  cache.delete(key);
  cache.set(key, tree);
  while (cache.size > TREES_KEPT) cache.delete(cache.keys().next().value!);
}

function rememberTree(db: Db, epoch: number, tree: EpochClaimTree): void {
  keep(cacheFor(db), `${epoch}:${tree.root}`, Promise.resolve(tree));
}

/** Epoch `epoch`'s tree, rebuilt from the stored leaves once per process and checked against `root`. */
function epochTree(db: Db, epoch: number, root: string): Promise<EpochClaimTree> {
  const cache = cacheFor(db);
  const key = `${epoch}:${root}`;
  const cached = cache.get(key);
  if (cached) {
    keep(cache, key, cached);
    return cached;
  }
  const built = balancesAt(db, epoch).then((balances) => {
    const tree = new EpochClaimTree(balances);
    if (tree.root !== root) throw new Error(`reward epoch ${epoch}: stored leaves rebuild root ${tree.root}, not the posted ${root}`);
    return tree;
  });
  keep(cache, key, built);
  // A failed build is not kept: the next request tries again.
  built.catch(() => cache.get(key) === built && cache.delete(key));
  return built;
}

/**
 * The claim for `wallet` against the newest POSTED epoch (or against `epoch`, if given and posted):
 * null when the wallet is not in that epoch's tree. This is the one way to read a proof, so how
 * epochs are stored can change underneath it.
 */
export async function rewardClaimFor(db: Db, wallet: string, epoch?: number): Promise<RewardClaimProof | null> {
  const posted = await db.rewardEpoch.findFirst({
    where: { status: "POSTED", merkleRoot: { not: null }, ...(epoch === undefined ? {} : { epoch }) },
    orderBy: { epoch: "desc" },
  });
  if (!posted?.merkleRoot) return null;
  // Most wallets asking are not in the tree (or ask twice): answer those from one index probe.
  const leaf = await db.rewardLeaf.findFirst({ where: { claimant: wallet, epoch: { lte: posted.epoch } }, orderBy: { epoch: "desc" }, select: { cumulative: true } });
  if (!leaf) return null;
  const claim = (await epochTree(db, posted.epoch, posted.merkleRoot)).claim(wallet);
  if (!claim) return null;
  return { epoch: posted.epoch, root: posted.merkleRoot, cumulative: claim.cumulative, proof: claim.proof };
}
