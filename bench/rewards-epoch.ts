/**
 * Rewards epoch benchmark (issue #12): one hourly epoch for a network of 1,000,000 devices (100,000
 * suppliers, i.e. claimants) computed (inputs + allocation), stored and posted, and the latency of a
 * proof built on demand at 100,000 claimants.
 *
 * Method: a throwaway embedded Postgres, migrated, and a real localnet (the prebuilt binary; no cargo
 * build here: run the chain tests once first). The network is inserted set-based: suppliers with
 * random 32-byte wallets, 10 devices each (1, 2, 4 or 8 GPUs of the catalogue's models), 90 % ONLINE,
 * 5 % OFFLINE, 5 % SUSPENDED, scores 5,000–10,000 (floor 6,000), 2 % with an outage inside the hour,
 * 1 % with a failed challenge in it. Devices joined two days before.
 *
 * "Epoch" = `computeRewardEpoch` (one transaction: inputs, allocation, contributions, leaves,
 * balances, tree and root) + one post_reward_root transaction sent to the localnet and confirmed.
 * The first epoch of a network pays every claimant for the first time; the next one is the hourly
 * steady state (balances updated in place, a leaf per claimant paid).
 *
 * Baseline, same process: the implementation before issue #12 (kept below verbatim in what it does:
 * per-device lateral inputs query into Node, `allocateEpoch`, the full tree with every claimant's
 * proof hashed by @noble/hashes and keys decoded by @scure/base, contributions by Prisma createMany
 * in slices, one leaf with its proof per claimant) on a 100,000-device network; it runs in a
 * transaction that is rolled back, then the new one computes the same epoch and the roots must agree.
 */
import { allocateEpoch, epochPool, epochWindow, hourlyEmission, type DeviceContributionInput, type EpochWindow } from "@gpumesh/core";
import { ix, sendInstructions } from "@gpumesh/chain";
import { bootstrapLocalnet, startLocalnet, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { computeRewardEpoch, createDb, insertInChunks, markRewardEpochPosted, migrate, rewardClaimFor, seedCatalogue, writeMirroredStakes, type Db } from "@gpumesh/db";
import { freePort, startPostgres, throwawayDataDir } from "@gpumesh/devstack";
import { sha256 } from "@noble/hashes/sha2";
import { base58 } from "@scure/base";

export interface RewardsBenchOptions {
  /** Network sizes for the new implementation; the first is also the baseline's. */
  devices: number[];
  devicesPerSupplier: number;
  /** Proof requests timed after the biggest network's epoch. */
  proofs: number;
  log?: (line: string) => void;
}

export const REWARDS_FULL: RewardsBenchOptions = { devices: [100_000, 1_000_000], devicesPerSupplier: 10, proofs: 2_000 };
export const REWARDS_QUICK: RewardsBenchOptions = { devices: [10_000, 50_000], devicesPerSupplier: 10, proofs: 200 };

const MIN_SCORE = 6_000;
const HOUR_S = 3_600;

/** Deterministic 32-byte keys (xorshift), base58. */
function wallets(count: number, seed: number): string[] {
  let state = seed >>> 0 || 1;
  const next = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), state >>> 0);
  return Array.from({ length: count }, () => {
    const bytes = new Uint8Array(32);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 8; i++) view.setUint32(i * 4, next());
    return base58.encode(bytes);
  });
}

/** Suppliers and their devices, inserted set-based (a million devices through Prisma takes minutes). */
export async function seedNetwork(db: Db, devices: number, perSupplier: number, window: EpochWindow): Promise<number> {
  await seedCatalogue(db);
  const suppliers = Math.ceil(devices / perSupplier);
  const keys = wallets(suppliers, devices);
  await insertInChunks(keys, (chunk) => db.$executeRaw`insert into account (id, wallet_address) select gen_random_uuid(), w from unnest(${chunk}::text[]) as w`, { columns: 1 });
  await db.$executeRaw`insert into supplier (id, account_id, name) select gen_random_uuid(), id, 'bench-' || wallet_address from account where wallet_address = any(${keys}::text[])`;
  const models = (await db.gpuModel.findMany({ select: { id: true }, orderBy: { id: "asc" } })).map((m) => m.id);
  const joined = new Date(window.start.getTime() - 2 * 86_400_000);
  await db.$executeRaw`
    insert into device (id, supplier_id, name, gpu_model_id, gpu_count, vram_gb, cpu_model, cpu_cores, ram_gb, disk_gb, region, country, city,
                        bandwidth_up_mbps, bandwidth_down_mbps, status, price_per_gpu_hour, verification_score_bps, created_at)
    select gen_random_uuid(), s.id, 'bench-' || n, (${models}::text[])[1 + (hashint4(n) & 2147483647) % ${models.length}],
           (array[1, 2, 4, 8])[1 + (hashint4(n + 1) & 2147483647) % 4], 80, 'EPYC', 64, 256, 2048, 'eu-west', 'DE', 'Berlin', 10000, 10000,
           (case when (hashint4(n + 2) & 2147483647) % 100 < 90 then 'ONLINE' when (hashint4(n + 2) & 2147483647) % 100 < 95 then 'OFFLINE' else 'SUSPENDED' end)::"DeviceStatus",
           400000, 5000 + (hashint4(n + 3) & 2147483647) % 5001, ${joined}::timestamptz
      from (select id, row_number() over (order by id) - 1 as k from supplier) s
      cross join generate_series(0, ${perSupplier - 1}) as i
      cross join lateral (select (s.k * ${perSupplier} + i)::int as n) x
     where x.n < ${devices}`;
  // 2 % had an outage inside the hour, 1 % failed a challenge in it.
  await db.$executeRaw`
    insert into device_outage (device_id, started_at, ended_at)
    select id, ${window.start}::timestamptz + interval '10 minutes', ${window.start}::timestamptz + interval '25 minutes' from device where (hashint4(hashtext(id::text)) & 2147483647) % 100 < 2`;
  await db.$executeRaw`
    insert into verification_challenge (id, device_id, kind, seed, matrix_size, sampled_rows, status, issued_at, deadline_at)
    select gen_random_uuid(), id, 'CPU_GEMM', repeat('ab', 32), 128, '{}', 'FAILED', ${window.start}::timestamptz + interval '5 minutes', ${window.start}::timestamptz + interval '6 minutes'
      from device where (hashint4(hashtext(id::text) + 7) & 2147483647) % 100 < 1`;
  // Every device staked (the rewards epoch pays staked devices only; the indexer's rows, written directly).
  await writeMirroredStakes(db);
  await db.$executeRaw`vacuum analyze`;
  return suppliers;
}

// ——— The implementation before issue #12, for the baseline ———

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) out.set(part, (offset += part.length) - part.length);
  return out;
};
const u64le = (value: bigint) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
};
const compareBytes = (a: Uint8Array, b: Uint8Array) => {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
};
const oldLeaf = (claimant: Uint8Array, cumulative: bigint) => sha256(concat(Uint8Array.of(0), sha256(concat(claimant, u64le(cumulative)))));
const oldNode = (a: Uint8Array, b: Uint8Array) => sha256(concat(Uint8Array.of(1), ...(compareBytes(a, b) <= 0 ? [a, b] : [b, a])));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** The old tree: every claimant's leaf and proof, keys decoded with @scure/base. */
function oldTree(cumulative: Map<string, bigint>) {
  const claimants = [...cumulative.keys()].sort();
  let level = claimants.map((c) => oldLeaf(base58.decode(c), cumulative.get(c)!));
  const levels = [level];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? oldNode(level[i]!, level[i + 1]!) : level[i]!);
    levels.push((level = next));
  }
  const proof = (index: number) => {
    const out: string[] = [];
    for (const l of levels.slice(0, -1)) {
      if ((index ^ 1) < l.length) out.push(hex(l[index ^ 1]!));
      index = Math.floor(index / 2);
    }
    return out;
  };
  return { root: level[0] ? hex(level[0]) : "0".repeat(64), total: claimants.reduce((s, c) => s + cumulative.get(c)!, 0n), leaves: claimants.map((c, i) => ({ claimant: c, cumulative: cumulative.get(c)!, proof: proof(i) })) };
}

class Rollback extends Error {}

/** The old computeRewardEpoch for a first epoch, timed, then rolled back. */
async function oldEpoch(db: Db, window: EpochWindow): Promise<{ ms: number; root: string; leaves: number; proofBytes: number }> {
  let outcome: { ms: number; root: string; leaves: number; proofBytes: number } | null = null;
  const started = performance.now();
  await db
    .$transaction(
      async (tx) => {
        await tx.$executeRaw`select pg_advisory_xact_lock(${0x47504d52}::int)`;
        const rows = await tx.$queryRaw<{ device_id: string; claimant: string; gpu_count: number; performance_weight_bps: number; online_seconds: number; verified: boolean }[]>`
          select d.id as device_id, a.wallet_address as claimant, d.gpu_count, g.performance_weight_bps,
                 greatest(0, extract(epoch from (${window.end}::timestamptz - greatest(${window.start}::timestamptz, d.created_at))) - coalesce(o.down, 0))::float8 as online_seconds,
                 (d.status in ('ONLINE', 'OFFLINE') and d.verification_score_bps >= ${MIN_SCORE}
                   and not exists (select 1 from verification_challenge c where c.device_id = d.id and c.status in ('FAILED', 'EXPIRED')
                                      and c.issued_at >= ${window.start}::timestamptz and c.issued_at < ${window.end}::timestamptz)) as verified
            from device d join gpu_model g on g.id = d.gpu_model_id join supplier s on s.id = d.supplier_id join account a on a.id = s.account_id
            left join lateral (
              select sum(extract(epoch from (least(coalesce(o.ended_at, ${window.end}::timestamptz), ${window.end}::timestamptz) - greatest(o.started_at, ${window.start}::timestamptz, d.created_at)))) as down
                from device_outage o where o.device_id = d.id and o.started_at < ${window.end}::timestamptz and (o.ended_at is null or o.ended_at > ${window.start}::timestamptz)
            ) o on true
           where d.gpu_count > 0 and d.created_at < ${window.end}::timestamptz order by d.id`;
        const inputs: DeviceContributionInput[] = rows
          .map((r) => ({ deviceId: r.device_id, claimant: r.claimant, gpuCount: r.gpu_count, performanceWeightBps: r.performance_weight_bps, onlineSeconds: Math.max(0, Math.floor(r.online_seconds)), verified: r.verified, staked: true })) // every bench device is staked (writeMirroredStakes above); the old implementation knew no stake
          .filter((input) => {
            try {
              return base58.decode(input.claimant).length === 32;
            } catch {
              return false;
            }
          });
        const pool = epochPool(window.epoch, 0n);
        const rewards = allocateEpoch(pool, inputs).filter((r) => r.weight > 0n);
        const cumulative = new Map<string, bigint>();
        for (const r of rewards) if (r.amount > 0n) cumulative.set(r.claimant, (cumulative.get(r.claimant) ?? 0n) + r.amount);
        const tree = oldTree(cumulative);
        await tx.rewardEpoch.create({ data: { epoch: window.epoch, hourStart: window.start, emission: hourlyEmission(window.epoch), cumulativeTotal: tree.total, pool, totalWeight: 0n, merkleRoot: tree.root, status: "COMPUTED" } });
        const byDevice = new Map(inputs.map((i) => [i.deviceId, i]));
        const contributions = rewards.map((r) => {
          const input = byDevice.get(r.deviceId)!;
          return { epoch: window.epoch, deviceId: r.deviceId, gpuSeconds: BigInt(input.gpuCount * input.onlineSeconds), weightBps: input.performanceWeightBps, uptimeBps: r.uptimeBps, weight: r.weight, amount: r.amount };
        });
        await insertInChunks(contributions, (data) => tx.rewardContribution.createMany({ data }), { columns: 7 });
        // reward_leaf no longer has a proof column: the old rows go to a table of the old shape.
        await insertInChunks(tree.leaves, (chunk) => tx.$executeRaw`
          insert into old_reward_leaf (epoch, claimant, cumulative, proof)
          select ${window.epoch}, c, v, string_to_array(p, ',') from unnest(${chunk.map((l) => l.claimant)}::text[], ${chunk.map((l) => l.cumulative)}::bigint[], ${chunk.map((l) => l.proof.join(","))}::text[]) as t(c, v, p)`, { columns: 4 });
        const [size] = await tx.$queryRaw<{ bytes: bigint }[]>`select sum(pg_column_size(old_reward_leaf.*))::bigint as bytes from old_reward_leaf`;
        outcome = { ms: performance.now() - started, root: tree.root, leaves: tree.leaves.length, proofBytes: Number(size!.bytes) };
        throw new Rollback();
      },
      { timeout: 600_000, maxWait: 30_000 },
    )
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return outcome!;
}

// ——— The run ———

interface EpochRun {
  devices: number;
  epoch: number;
  computeMs: number;
  postMs: number;
  leavesStored: number;
  contributions: number;
  timings: Record<string, number>;
  root: string;
}

async function newEpoch(db: Db, localnet: RunningLocalnet, chain: LocalnetAccounts, window: EpochWindow, devices: number): Promise<EpochRun> {
  const timings: Record<string, number> = {};
  const started = performance.now();
  const computed = (await computeRewardEpoch(db, window, { minVerificationScoreBps: MIN_SCORE, timings }))!;
  const computeMs = performance.now() - started;
  const posting = performance.now();
  const { signature } = await sendInstructions(
    localnet.connection,
    [ix.postRewardRoot(chain.rewardsAuthority.publicKey, BigInt(window.epoch), Uint8Array.from(Buffer.from(computed.root, "hex")), computed.total, chain.programId)],
    [chain.rewardsAuthority],
  );
  await markRewardEpochPosted(db, window.epoch, signature, new Date());
  const postMs = performance.now() - posting;
  return { devices, epoch: window.epoch, computeMs, postMs, leavesStored: computed.leavesStored, contributions: await db.rewardContribution.count({ where: { epoch: window.epoch } }), timings, root: computed.root };
}

const fmt = (ms: number) => (ms / 1000).toFixed(2);

export async function runRewardsBench(options: RewardsBenchOptions = REWARDS_FULL): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const localnet = await startLocalnet();
  // Emission started a little over five hours ago: epochs 1–5 are complete.
  const emissionStart = Math.floor(Date.now() / 1000) - 5 * HOUR_S - 60;
  const chain = await bootstrapLocalnet(localnet.connection, { emissionStart });
  await sendInstructions(localnet.connection, [ix.crankEmissions(chain.meshMint, chain.programId)], [chain.rewardsAuthority]);
  let nextEpoch = 2;
  try {
    for (const [index, devices] of options.devices.entries()) {
      const postgres = await startPostgres({ dataDir: await throwawayDataDir("bench-rewards"), port: await freePort(), database: "bench", persistent: false });
      const db = createDb(postgres.url, { max: 4 });
      try {
        await migrate(postgres.url);
        const first = epochWindow(emissionStart, nextEpoch);
        const seeding = performance.now();
        const suppliers = await seedNetwork(db, devices, options.devicesPerSupplier, first);
        log(`${devices.toLocaleString("en")} devices, ${suppliers.toLocaleString("en")} suppliers seeded in ${fmt(performance.now() - seeding)} s`);

        if (index === 0) {
          await db.$executeRaw`create table old_reward_leaf (epoch int, claimant varchar(44), cumulative bigint, proof text[], primary key (epoch, claimant))`;
          await db.$executeRaw`create index on old_reward_leaf (claimant)`;
          const old = await oldEpoch(db, first);
          log(`baseline (before #12), epoch ${first.epoch}: ${fmt(old.ms)} s computed + stored (not posted), ${old.leaves.toLocaleString("en")} leaves with proofs, ${(old.proofBytes / old.leaves / 1024).toFixed(2)} KiB per leaf row`);
          const run = await newEpoch(db, localnet, chain, first, devices);
          log(`new, epoch ${run.epoch}: ${fmt(run.computeMs)} s computed + stored, ${fmt(run.postMs)} s posted → ${fmt(run.computeMs + run.postMs)} s; ${run.leavesStored.toLocaleString("en")} leaves, ${run.contributions.toLocaleString("en")} contributions; phases ${JSON.stringify(Object.fromEntries(Object.entries(run.timings).map(([k, v]) => [k, Math.round(v)])))}`);
          log(`  roots ${run.root === old.root ? "agree" : `DIFFER (old ${old.root}, new ${run.root})`}; speed-up (compute + store) ${(old.ms / run.computeMs).toFixed(1)}×`);
          nextEpoch += 1;
        } else {
          for (const kind of ["first (every claimant new)", "next hour (steady state)"]) {
            const window = epochWindow(emissionStart, nextEpoch++);
            const run = await newEpoch(db, localnet, chain, window, devices);
            log(`new, epoch ${run.epoch}, ${kind}: ${fmt(run.computeMs)} s computed + stored, ${fmt(run.postMs)} s posted → ${fmt(run.computeMs + run.postMs)} s; ${run.leavesStored.toLocaleString("en")} leaves, ${run.contributions.toLocaleString("en")} contributions; phases ${JSON.stringify(Object.fromEntries(Object.entries(run.timings).map(([k, v]) => [k, Math.round(v)])))}`);
          }
          const [size] = await db.$queryRaw<{ leaf: bigint; rows: bigint }[]>`select sum(pg_column_size(reward_leaf.*))::bigint as leaf, count(*)::bigint as rows from reward_leaf`;
          log(`  leaf rows are ${(Number(size!.leaf) / Number(size!.rows)).toFixed(0)} bytes each (no proof)`);

          // Proofs on demand: a fresh client (cold: rebuilds the tree), then random claimants (warm).
          const reader = createDb(postgres.url, { max: 4 });
          try {
            const claimants = (await reader.rewardBalance.findMany({ select: { claimant: true }, take: options.proofs, orderBy: { cumulative: "asc" } })).map((b) => b.claimant);
            const cold = performance.now();
            const firstClaim = await rewardClaimFor(reader, claimants[0]!);
            const coldMs = performance.now() - cold;
            const latencies: number[] = [];
            for (const claimant of claimants) {
              const t = performance.now();
              await rewardClaimFor(reader, claimant);
              latencies.push(performance.now() - t);
            }
            latencies.sort((a, b) => a - b);
            const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
            log(`proof on demand at ${suppliers.toLocaleString("en")} claimants (epoch ${firstClaim?.epoch}, ${firstClaim?.proof.length} siblings): first request ${fmt(coldMs)} s (reads the balances, builds the tree); then ${latencies.length} requests p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms`);
          } finally {
            await reader.$disconnect();
          }
        }
      } finally {
        await db.$disconnect();
        await postgres.stop();
      }
    }
  } finally {
    await localnet.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runRewardsBench(process.argv.includes("--quick") ? REWARDS_QUICK : REWARDS_FULL);
}
