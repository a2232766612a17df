-- Device outages: when a device stopped heartbeating and when it came back. Rewards pay for the
-- seconds a device was online in each hour; a heartbeat history would cost a write per heartbeat,
-- while outages cost a row per status change, written here by a trigger so no code path can forget.

CREATE TABLE "device_outage" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_outage_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "device_outage_device_id_started_at_idx" ON "device_outage"("device_id", "started_at");

ALTER TABLE "device_outage" ADD CONSTRAINT "device_outage_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "device_outage" ADD CONSTRAINT "device_outage_period_valid" CHECK ("ended_at" IS NULL OR "ended_at" >= "started_at");

-- At most one open outage per device.
CREATE UNIQUE INDEX "device_outage_open" ON "device_outage"("device_id") WHERE "ended_at" IS NULL;

-- The outage starts at the last heartbeat (the device has been silent since then, not since the
-- health sweep noticed) and ends at the heartbeat that brought it back.
CREATE FUNCTION "device_outage_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."status" = 'OFFLINE' AND (TG_OP = 'INSERT' OR OLD."status" <> 'OFFLINE') THEN
    INSERT INTO "device_outage" ("device_id", "started_at")
    VALUES (NEW."id", LEAST(COALESCE(NEW."last_heartbeat_at", NEW."created_at"), now()))
    ON CONFLICT ("device_id") WHERE "ended_at" IS NULL DO NOTHING;
  ELSIF TG_OP = 'UPDATE' AND OLD."status" = 'OFFLINE' AND NEW."status" <> 'OFFLINE' THEN
    UPDATE "device_outage"
       SET "ended_at" = GREATEST("started_at", LEAST(COALESCE(NEW."last_heartbeat_at", now()), now()))
     WHERE "device_id" = NEW."id" AND "ended_at" IS NULL;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "device_outage_on_insert" AFTER INSERT ON "device"
  FOR EACH ROW WHEN (NEW."status" = 'OFFLINE') EXECUTE FUNCTION "device_outage_track"();
CREATE TRIGGER "device_outage_on_status" AFTER UPDATE OF "status" ON "device"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION "device_outage_track"();
