-- Pausing a device (issue #11, the supplier's "pause"): a paused device takes no new leases — it is
-- not placed, quoted, counted as deployable or reserved — while it keeps heartbeating, being verified
-- and serving the leases it already has (a renter's paid lease, and a quote it already holds, are
-- honoured). It earns no token reward for an hour it was paused in at any moment: rewards pay for
-- capacity the network could rent, and a pause taken and lifted inside the hour would otherwise cost
-- nothing. Resuming makes it rentable at once.
--
-- device.paused_at: when the current pause began (null: taking leases). device_pause: every pause as a
-- period, written by a trigger on paused_at (as device_outage is on status), so no code path can forget
-- it; the rewards epoch and the Rewards page read the periods overlapping an hour.

ALTER TABLE "device" ADD COLUMN "paused_at" TIMESTAMPTZ(3);

CREATE TABLE "device_pause" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_pause_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "device_pause_device_id_started_at_idx" ON "device_pause"("device_id", "started_at");
-- The rewards epoch reads the pauses of one hour: those that ended after it began, and the open ones.
CREATE INDEX "device_pause_ended_at_idx" ON "device_pause"("ended_at");
CREATE UNIQUE INDEX "device_pause_open" ON "device_pause"("device_id") WHERE "ended_at" IS NULL;

ALTER TABLE "device_pause" ADD CONSTRAINT "device_pause_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "device_pause" ADD CONSTRAINT "device_pause_period_valid" CHECK ("ended_at" IS NULL OR "ended_at" >= "started_at");

CREATE FUNCTION "device_pause_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."paused_at" IS NOT NULL AND OLD."paused_at" IS NULL THEN
    INSERT INTO "device_pause" ("device_id", "started_at") VALUES (NEW."id", NEW."paused_at")
    ON CONFLICT ("device_id") WHERE "ended_at" IS NULL DO NOTHING;
  ELSIF NEW."paused_at" IS NULL AND OLD."paused_at" IS NOT NULL THEN
    UPDATE "device_pause" SET "ended_at" = GREATEST("started_at", now())
     WHERE "device_id" = NEW."id" AND "ended_at" IS NULL;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "device_pause_on_update" AFTER UPDATE OF "paused_at" ON "device"
  FOR EACH ROW WHEN (OLD."paused_at" IS DISTINCT FROM NEW."paused_at") EXECUTE FUNCTION "device_pause_track"();

-- A reservation refuses a paused device ('paused'), after 'reserved' and 'not-online' (the body is
-- otherwise 20261201130000_reservation_runtime's). gpumesh_reserve_gang calls this, so a deploy that
-- placed the device just before the pause committed fails over to another.
CREATE OR REPLACE FUNCTION "gpumesh_unavailable_devices"(p_devices uuid[], p_starts timestamptz, p_ends timestamptz, p_needs_images boolean)
RETURNS TABLE (id text, reason text, ord bigint)
LANGUAGE sql AS $$
  SELECT r.id, r.reason, r.ord FROM (
    SELECT requested.id::text AS id, requested.ord,
           CASE WHEN d."id" IS NULL THEN 'unknown'
                WHEN EXISTS (SELECT 1 FROM "allocation" a
                              WHERE a."device_id" = d."id" AND a."status" = 'ACTIVE'
                                AND tstzrange(a."starts_at", a."ends_at", '[)') && tstzrange(p_starts, p_ends, '[)'))
                  THEN 'reserved'
                WHEN d."status" <> 'ONLINE' THEN 'not-online'
                WHEN d."paused_at" IS NOT NULL THEN 'paused'
                WHEN p_needs_images AND NOT d."runs_images" THEN 'no-runtime'
           END AS reason
      FROM unnest(p_devices) WITH ORDINALITY AS requested(id, ord)
      LEFT JOIN "device" d ON d."id" = requested.id) r
   WHERE r.reason IS NOT NULL
$$;

-- The placement feed names the device when it is paused or resumed (its column list is otherwise
-- 20261201100500_placement_feed's), so every scheduler's placement index drops or re-adds it.
DROP TRIGGER "device_placement_feed_update" ON "device";
CREATE TRIGGER "device_placement_feed_update" AFTER UPDATE ON "device"
  FOR EACH ROW WHEN ((old.status, old.supplier_id, old.city, old.gpu_model_id, old.gpu_count, old.vram_gb, old.region, old.connectivity_tier,
                      old.security_tier, old.network, old.price_per_gpu_hour, old.verification_score_bps, old.runs_images, old.paused_at is null)
                     IS DISTINCT FROM
                     (new.status, new.supplier_id, new.city, new.gpu_model_id, new.gpu_count, new.vram_gb, new.region, new.connectivity_tier,
                      new.security_tier, new.network, new.price_per_gpu_hour, new.verification_score_bps, new.runs_images, new.paused_at is null))
  EXECUTE FUNCTION "gpumesh_notify_placement_device"();
