-- Slashing a device that vanished mid-lease (issue #11: "a device that vanished mid-lease beyond a
-- grace period"). An outage remembers the lease its device was serving when it went silent, so the
-- health sweep can decide, once the grace period has passed, whether the device came back in time;
-- the allocation itself is released (and replaced) long before that by the node-lost job.

-- The ACTIVE, acknowledged allocation of a RUNNING or DEGRADED cluster that the device held when the
-- outage began; null when it was serving no lease (nothing to slash for). Only acknowledged: a node
-- that never acked never started serving (its deploy's ack deadline replaces it, unbilled).
ALTER TABLE "device_outage" ADD COLUMN "allocation_id" UUID;
-- When the health sweep decided the outage (vanished beyond the grace period: slash enqueued; or back
-- in time): a decided outage is never looked at again.
ALTER TABLE "device_outage" ADD COLUMN "vanish_decided_at" TIMESTAMPTZ(3);

ALTER TABLE "device_outage" ADD CONSTRAINT "device_outage_allocation_id_fkey" FOREIGN KEY ("allocation_id") REFERENCES "allocation"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- The sweep's work: mid-lease outages not decided yet, by start (the grace period runs from it). Holds
-- only those, so the sweep costs O(outages due), never a walk over devices or outage history.
CREATE INDEX "device_outage_vanish_due" ON "device_outage"("started_at", "id") WHERE "allocation_id" IS NOT NULL AND "vanish_decided_at" IS NULL;

-- Set when the outage row is written (by device_outage_track, on the device's move to OFFLINE), while
-- the allocation is still ACTIVE: no code path can forget it. Reads allocation(device_id, status).
CREATE FUNCTION "device_outage_mid_lease"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."allocation_id" := (
    SELECT a."id" FROM "allocation" a JOIN "cluster" c ON c."id" = a."cluster_id"
     WHERE a."device_id" = NEW."device_id" AND a."status" = 'ACTIVE' AND a."acknowledged_at" IS NOT NULL
       AND c."status" IN ('RUNNING', 'DEGRADED')
       -- Serving at that moment: a lease already over (its end not processed yet) is not walked out on.
       AND a."starts_at" <= NEW."started_at" AND a."ends_at" > NEW."started_at"
     ORDER BY a."acknowledged_at", a."id"
     LIMIT 1);
  RETURN NEW;
END
$$;
CREATE TRIGGER "device_outage_mid_lease" BEFORE INSERT ON "device_outage"
  FOR EACH ROW EXECUTE FUNCTION "device_outage_mid_lease"();

-- The sweep counts the outages of any device that began around a mid-lease one: many devices silent at
-- once point at the network or GPUMesh itself, and such outages are decided without a slash.
CREATE INDEX "device_outage_started_at_idx" ON "device_outage"("started_at");
