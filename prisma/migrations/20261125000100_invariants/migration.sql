-- Invariants that Prisma's schema language cannot express. The database, not the application, is the
-- last line of defence for money and leases: every rule here has a test in packages/db/test.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A device holds at most one ACTIVE allocation at any instant ([starts_at, ends_at) ranges must not
-- overlap). Released allocations keep their history without blocking new leases.
ALTER TABLE "allocation"
  ADD CONSTRAINT "allocation_device_no_overlap"
  EXCLUDE USING gist ("device_id" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&)
  WHERE ("status" = 'ACTIVE');
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_period_valid" CHECK ("ends_at" > "starts_at");
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_gpu_count_positive" CHECK ("gpu_count" > 0);
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_price_non_negative" CHECK ("price_per_gpu_hour" >= 0);

-- Value ranges.
ALTER TABLE "gpu_model" ADD CONSTRAINT "gpu_model_values_valid" CHECK (
  "vram_gb" > 0 AND "performance_weight_bps" > 0 AND "reference_price_per_hour" >= 0
  AND ("hyperscaler_price_per_hour" IS NULL OR "hyperscaler_price_per_hour" >= 0));
ALTER TABLE "device" ADD CONSTRAINT "device_values_valid" CHECK (
  "gpu_count" >= 0 AND "vram_gb" >= 0 AND "cpu_cores" > 0 AND "ram_gb" > 0 AND "disk_gb" > 0
  AND "bandwidth_up_mbps" >= 0 AND "bandwidth_down_mbps" >= 0 AND "price_per_gpu_hour" >= 0
  AND "verification_score_bps" BETWEEN 0 AND 10000
  AND ("gpu_count" = 0) = ("gpu_model_id" IS NULL));
ALTER TABLE "cluster" ADD CONSTRAINT "cluster_values_valid" CHECK (
  "gpu_count" BETWEEN 1 AND 1024 AND "min_vram_gb" >= 0 AND "duration_hours" > 0
  AND "price_per_second" >= 0 AND "deposit_amount" >= 0
  AND cardinality("gpu_model_ids") > 0 AND cardinality("regions") > 0);
ALTER TABLE "payment" ADD CONSTRAINT "payment_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_values_valid" CHECK (
  "period_end" > "period_start" AND "gpu_seconds" >= 0 AND "amount" >= 0);
ALTER TABLE "reward_epoch" ADD CONSTRAINT "reward_epoch_values_valid" CHECK (
  "epoch" >= 1 AND "emission" >= 0 AND "cumulative_total" >= 0);
ALTER TABLE "reward_contribution" ADD CONSTRAINT "reward_contribution_values_valid" CHECK (
  "gpu_seconds" >= 0 AND "weight_bps" >= 0 AND "uptime_bps" BETWEEN 0 AND 10000 AND "amount" >= 0);
ALTER TABLE "reward_leaf" ADD CONSTRAINT "reward_leaf_cumulative_non_negative" CHECK ("cumulative" >= 0);
ALTER TABLE "claim" ADD CONSTRAINT "claim_values_valid" CHECK ("amount" > 0 AND "cumulative" >= "amount");
ALTER TABLE "ledger_entry" ADD CONSTRAINT "ledger_entry_amount_non_zero" CHECK ("amount" <> 0);

-- Double-entry ledger: every journal has at least two entries, all in the journal's token and in
-- accounts of that token, summing to zero. Checked at COMMIT (deferred) so a journal and its entries
-- are written in one transaction; an unbalanced set aborts the whole transaction.
CREATE FUNCTION "ledger_check_journal"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  jid uuid;
  jtoken "PaymentToken";
  entry_count integer;
  total numeric;
  mismatched integer;
BEGIN
  -- Fired for a journal row or for one of its entries (inserts only: both tables are append-only).
  IF TG_TABLE_NAME = 'journal' THEN
    jid := NEW."id";
  ELSE
    jid := NEW."journal_id";
  END IF;
  SELECT "token" INTO jtoken FROM "journal" WHERE "id" = jid;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT count(*), COALESCE(sum(e."amount"::numeric), 0),
         count(*) FILTER (WHERE e."token" <> jtoken OR a."token" <> jtoken)
    INTO entry_count, total, mismatched
    FROM "ledger_entry" e JOIN "ledger_account" a ON a."id" = e."ledger_account_id"
   WHERE e."journal_id" = jid;
  IF entry_count < 2 THEN
    RAISE EXCEPTION 'journal % has % ledger entries; a journal needs at least two', jid, entry_count
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  IF total <> 0 THEN
    RAISE EXCEPTION 'journal % is unbalanced: entries sum to % (must be 0)', jid, total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  IF mismatched > 0 THEN
    RAISE EXCEPTION 'journal % mixes tokens: % entries differ from the journal token %', jid, mismatched, jtoken
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER "ledger_entry_balanced"
  AFTER INSERT ON "ledger_entry"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "ledger_check_journal"();

CREATE CONSTRAINT TRIGGER "journal_balanced"
  AFTER INSERT ON "journal"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "ledger_check_journal"();

-- The ledger is append-only: corrections are new, reversing journals.
CREATE FUNCTION "ledger_reject_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed (post a reversing journal instead)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER "ledger_entry_append_only" BEFORE UPDATE OR DELETE ON "ledger_entry"
  FOR EACH ROW EXECUTE FUNCTION "ledger_reject_change"();
CREATE TRIGGER "journal_append_only" BEFORE UPDATE OR DELETE ON "journal"
  FOR EACH ROW EXECUTE FUNCTION "ledger_reject_change"();
