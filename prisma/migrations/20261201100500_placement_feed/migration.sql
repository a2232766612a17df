-- The placement feed (issue #13): every committed change that can change where a cluster may be placed
-- names its device on channel `gpumesh_placement`, so each scheduler process keeps an in-memory
-- placement index (packages/db/src/live-placement.ts) by re-reading just the devices named. The
-- payload is the device id: the reader re-reads the row, so notifications may be coalesced or
-- duplicated without harm. One exception, the hot path: a new ACTIVE allocation is sent as
-- `taken:<device id>`, which says all there is to know (the device is taken), so reservations cost
-- the readers no query and reach them as soon as they commit. NOTIFY is delivered at commit (never
-- for a rolled-back reservation), in commit order, and deduplicated within a transaction.

create function gpumesh_notify_placement_allocation() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    perform pg_notify('gpumesh_placement', old.device_id::text);
    return old;
  end if;
  if tg_op = 'INSERT' and new.status = 'ACTIVE' then
    perform pg_notify('gpumesh_placement', 'taken:' || new.device_id::text);
    return new;
  end if;
  perform pg_notify('gpumesh_placement', new.device_id::text);
  if tg_op = 'UPDATE' and old.device_id <> new.device_id then
    perform pg_notify('gpumesh_placement', old.device_id::text);
  end if;
  return new;
end $$;

create function gpumesh_notify_placement_device() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    perform pg_notify('gpumesh_placement', old.id::text);
    return old;
  end if;
  perform pg_notify('gpumesh_placement', new.id::text);
  return new;
end $$;

create trigger allocation_placement_feed after insert or delete on allocation
  for each row execute function gpumesh_notify_placement_allocation();
-- Only what decides whether the device is taken: a window or acknowledgement change does not notify.
create trigger allocation_placement_feed_update after update on allocation
  for each row when ((old.status, old.device_id, old.ends_at) is distinct from (new.status, new.device_id, new.ends_at))
  execute function gpumesh_notify_placement_allocation();

create trigger device_placement_feed after insert or delete on device
  for each row execute function gpumesh_notify_placement_device();
-- Heartbeats (last_heartbeat_at) and challenge times change every few seconds and never notify.
create trigger device_placement_feed_update after update on device
  for each row when ((old.status, old.supplier_id, old.city, old.gpu_model_id, old.gpu_count, old.vram_gb, old.region, old.connectivity_tier,
                      old.security_tier, old.network, old.price_per_gpu_hour, old.verification_score_bps, old.runs_images)
                     is distinct from
                     (new.status, new.supplier_id, new.city, new.gpu_model_id, new.gpu_count, new.vram_gb, new.region, new.connectivity_tier,
                      new.security_tier, new.network, new.price_per_gpu_hour, new.verification_score_bps, new.runs_images))
  execute function gpumesh_notify_placement_device();
