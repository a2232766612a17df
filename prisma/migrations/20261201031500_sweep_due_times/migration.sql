-- Sweeps cost O(work due), not O(clusters) or O(devices) (issue #13): each sweep reads an index that
-- holds only the rows it may have to act on, ordered by when they are due.
--
-- The cluster indexes are on an expression, `CASE WHEN <serving> THEN <due time> END`, and the sweeps
-- query that same expression: ANALYZE keeps statistics per index expression, so the planner knows that
-- only the serving leases have a due time. On the bare column the history (every ended lease has an
-- ends_at in the past) makes "ends_at <= now" look true of nearly every row, and the planner walks
-- every RUNNING lease through the status index instead (measured: sweep-plans.test.ts).

-- Settle sweep, periods: when the lease's first period not known to be settled completes. Invariant:
-- every period that starts before next_settle_at − 1 h is settled. Set from started_at by the trigger
-- below (no code path can forget it); moved forward by the settle job (the period it settled was the
-- first) and by the sweep (over periods it finds settled).
ALTER TABLE "cluster" ADD COLUMN "next_settle_at" TIMESTAMPTZ(3);
CREATE INDEX "cluster_settle_due" ON "cluster"((CASE WHEN "status" IN ('RUNNING', 'DEGRADED') THEN "next_settle_at" END));

CREATE FUNCTION "cluster_first_settle_due"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."started_at" IS NULL THEN
    NEW."next_settle_at" := NULL;
  ELSIF TG_OP = 'INSERT' OR OLD."started_at" IS DISTINCT FROM NEW."started_at" THEN
    -- Periods are whole seconds from the start (settlementPeriods); the first completes an hour later.
    NEW."next_settle_at" := date_trunc('second', NEW."started_at") + interval '1 hour';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER "cluster_first_settle_due_on_insert" BEFORE INSERT ON "cluster"
  FOR EACH ROW EXECUTE FUNCTION "cluster_first_settle_due"();
CREATE TRIGGER "cluster_first_settle_due_on_start" BEFORE UPDATE OF "started_at" ON "cluster"
  FOR EACH ROW EXECUTE FUNCTION "cluster_first_settle_due"();

-- Existing leases start over from their first period: the sweep skips settled periods in one pass.
UPDATE "cluster" SET "next_settle_at" = date_trunc('second', "started_at") + interval '1 hour' WHERE "started_at" IS NOT NULL;

-- Settle sweep, ends: serving leases past their paid end, and those whose renter asked to end.
CREATE INDEX "cluster_serving_ends_at" ON "cluster"((CASE WHEN "status" IN ('RUNNING', 'DEGRADED') THEN "ends_at" END));
CREATE INDEX "cluster_serving_end_requested" ON "cluster"((CASE WHEN "status" IN ('RUNNING', 'DEGRADED') THEN "end_requested_at" END));

-- Deploy sweep: clusters in a deployment state, by when they last moved.
CREATE INDEX "cluster_deploy_due" ON "cluster"("updated_at") WHERE "status" IN ('PAID', 'MATCHING', 'DEPLOYING', 'DEGRADED', 'FAILED');

-- Health sweep: the ACTIVE allocations whose device stopped being ONLINE (the nodes clusters lost),
-- marked when the device's status moves, so the sweep reads those and not every offline device.
ALTER TABLE "allocation" ADD COLUMN "device_lost_at" TIMESTAMPTZ(3);
CREATE INDEX "allocation_device_lost" ON "allocation"("device_lost_at") WHERE "status" = 'ACTIVE' AND "device_lost_at" IS NOT NULL;

CREATE FUNCTION "allocation_track_device_lost"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."status" IN ('OFFLINE', 'SUSPENDED') THEN
    UPDATE "allocation" SET "device_lost_at" = now()
     WHERE "device_id" = NEW."id" AND "status" = 'ACTIVE' AND "device_lost_at" IS NULL;
  ELSE
    UPDATE "allocation" SET "device_lost_at" = NULL
     WHERE "device_id" = NEW."id" AND "status" = 'ACTIVE' AND "device_lost_at" IS NOT NULL;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "allocation_device_lost_on_status" AFTER UPDATE OF "status" ON "device"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION "allocation_track_device_lost"();

-- An allocation made on a device that is already not ONLINE (a held quote racing the health sweep) is
-- lost from the start.
CREATE FUNCTION "allocation_lost_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."status" = 'ACTIVE' AND EXISTS (SELECT 1 FROM "device" d WHERE d."id" = NEW."device_id" AND d."status" IN ('OFFLINE', 'SUSPENDED')) THEN
    NEW."device_lost_at" := now();
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER "allocation_lost_on_insert" BEFORE INSERT ON "allocation"
  FOR EACH ROW EXECUTE FUNCTION "allocation_lost_on_insert"();

UPDATE "allocation" a SET "device_lost_at" = now()
  FROM "device" d WHERE d."id" = a."device_id" AND a."status" = 'ACTIVE' AND d."status" IN ('OFFLINE', 'SUSPENDED');
