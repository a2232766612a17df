import { STAKE_PER_WEIGHT_UNIT } from "@gpumesh/core";
import type { Db } from "./client.ts";

/**
 * Device stakes as the chain indexer mirrors them (`device_stake`; the indexer's writer is
 * packages/chain/src/store.ts). Reads for the supplier pages and the stake order live here; the
 * rows themselves only come from chain events.
 */

/** A device's mirrored stake, or null when the chain never staked it. */
export function deviceStakeOf(db: Db, deviceId: string) {
  return db.deviceStake.findUnique({ where: { deviceId } });
}

/**
 * Writes, for every GPU device matching `deviceIds` (all when omitted), the row the indexer would
 * write after a full stake of its required amount (or `amount`/`status` when given). For tests and
 * benches without a chain, which still need devices that earn; never called by production code (the
 * only writer there is the indexer). `last_event_seq` 0: any real event of the device supersedes it.
 */
export async function writeMirroredStakes(db: Db, options: { deviceIds?: string[]; status?: "STAKED" | "UNSTAKING" | "WITHDRAWN"; shortBy?: bigint } = {}): Promise<number> {
  const ids = options.deviceIds ?? null;
  const status = options.status ?? "STAKED";
  const shortBy = options.shortBy ?? 0n;
  return db.$executeRaw`
    insert into device_stake (device_id, stake_address, staker, weight_bps, amount, required, status, unstake_requested_at, withdrawable_at, last_signature, last_slot, last_event_seq)
    select d.id, 'test-' || left(d.id::text, 8), a.wallet_address, d.gpu_count * g.performance_weight_bps,
           case when ${status}::text = 'WITHDRAWN' then 0 else greatest(0, d.gpu_count::bigint * g.performance_weight_bps * ${STAKE_PER_WEIGHT_UNIT}::bigint - ${shortBy}::bigint) end,
           d.gpu_count::bigint * g.performance_weight_bps * ${STAKE_PER_WEIGHT_UNIT}::bigint,
           ${status}::text::"DeviceStakeStatus",
           case when ${status}::text = 'UNSTAKING' then now() end, case when ${status}::text = 'UNSTAKING' then now() + interval '7 days' end,
           'written-without-a-chain', 0, 0
      from device d
      join gpu_model g on g.id = d.gpu_model_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
     where d.gpu_count > 0 and (${ids}::uuid[] is null or d.id = any(${ids}::uuid[]))
    on conflict (device_id) do update set amount = excluded.amount, required = excluded.required, status = excluded.status,
       unstake_requested_at = excluded.unstake_requested_at, withdrawable_at = excluded.withdrawable_at, updated_at = now()`;
}
