-- Held quotes (issue #10 "Quote, then pay"). A quote is a REQUESTED cluster that holds its quoted
-- devices with ACTIVE allocations until it is paid or expires, so nobody else can take them meanwhile;
-- the exclusion constraint `allocation_device_no_overlap` stays the guard against double booking.
-- * cluster.quote_expires_at: until when the quote holds its devices (the settle sweep expires it
--   unpaid after: REQUESTED → FAILED → REFUNDED, which releases the holds).
-- * cluster.quote: the quote as offered (breakdown, devices, utilisation), for display and audit.
-- Callers: packages/db/src/quotes.ts (createHeldQuote, startMatchingWithHolds).
ALTER TABLE "cluster" ADD COLUMN "quote_expires_at" TIMESTAMPTZ(3);
ALTER TABLE "cluster" ADD COLUMN "quote" JSONB;

-- Creates a held quote in ONE call: waits for the renter's quote lock (per account, transaction
-- scoped; quotes of different accounts never wait on each other), refuses ('too-many') when the
-- renter already holds p_max_held unexpired quotes, inserts the REQUESTED cluster with its creation
-- event, and reserves the gang with gpumesh_reserve_gang (cluster row lock, device try-locks,
-- pre-check, insert; a lost exclusion-constraint race is caught there). A gang that cannot be had
-- rolls back the cluster row too (sub-transaction) and is reported 'unavailable' with the devices.
-- outcome: 'held' | 'too-many' | 'unavailable'.
CREATE FUNCTION "gpumesh_hold_quote"(
  p_cluster uuid,
  p_renter uuid,
  p_max_held integer,
  p_account_lock_space integer,
  p_at timestamptz,
  p_expires timestamptz,
  p_reason text,
  p_name text,
  p_type text,
  p_gpu_model_ids text[],
  p_gpu_count integer,
  p_min_vram_gb integer,
  p_regions text[],
  p_connectivity_tier text,
  p_encrypted boolean,
  p_compliance boolean,
  p_networks text[],
  p_duration_hours integer,
  p_billing_period text,
  p_payment_token text,
  p_max_price bigint,
  p_price_per_second bigint,
  p_deposit bigint,
  p_quote jsonb,
  p_starts timestamptz,
  p_ends timestamptz,
  p_devices uuid[],
  p_gpu_counts integer[],
  p_prices bigint[],
  p_device_lock_space integer
) RETURNS TABLE (outcome text, held_quotes integer, allocation_ids text[], allocation_devices text[], unavailable_ids text[], unavailable_reasons text[])
LANGUAGE plpgsql AS $$
DECLARE
  reserved text;
BEGIN
  PERFORM pg_advisory_xact_lock(p_account_lock_space, hashtext(p_renter::text));
  SELECT count(*)::integer INTO held_quotes FROM "cluster" c
   WHERE c."renter_id" = p_renter AND c."status" = 'REQUESTED' AND c."quote_expires_at" > p_at;
  IF held_quotes >= p_max_held THEN
    outcome := 'too-many';
    RETURN NEXT;
    RETURN;
  END IF;
  BEGIN
    INSERT INTO "cluster" ("id", "renter_id", "name", "type", "gpu_model_ids", "gpu_count", "min_vram_gb", "regions", "connectivity_tier",
                           "encrypted_traffic", "compliance_only", "supplier_networks", "duration_hours", "billing_period", "payment_token",
                           "max_price_per_gpu_hour", "price_per_second", "deposit_amount", "status", "quote_expires_at", "quote",
                           "created_at", "updated_at")
    VALUES (p_cluster, p_renter, p_name, p_type::"ClusterType", p_gpu_model_ids, p_gpu_count, p_min_vram_gb, p_regions,
            p_connectivity_tier::"ConnectivityTier", p_encrypted, p_compliance, p_networks::"SupplierNetwork"[], p_duration_hours,
            p_billing_period::"BillingPeriod", p_payment_token::"PaymentToken", p_max_price, p_price_per_second, p_deposit, 'REQUESTED',
            p_expires, p_quote, p_at, p_at);
    INSERT INTO "cluster_event" ("cluster_id", "from_status", "to_status", "reason", "at")
    VALUES (p_cluster, NULL, 'REQUESTED', p_reason, p_at);
    SELECT r.outcome, r.allocation_ids, r.allocation_devices, r.unavailable_ids, r.unavailable_reasons
      INTO reserved, allocation_ids, allocation_devices, unavailable_ids, unavailable_reasons
      FROM "gpumesh_reserve_gang"(p_cluster, 'REQUESTED', p_reason, p_at, 0, p_starts, p_ends, p_devices, p_gpu_counts, p_prices,
                                  p_device_lock_space, true) r;
    IF reserved IS DISTINCT FROM 'reserved' THEN
      -- Undo the cluster row and its event (this block's sub-transaction); the variables keep the devices.
      RAISE EXCEPTION 'gpumesh_hold_quote: gang unavailable' USING ERRCODE = 'GM001';
    END IF;
  EXCEPTION WHEN SQLSTATE 'GM001' THEN
    allocation_ids := NULL;
    allocation_devices := NULL;
    outcome := 'unavailable';
    RETURN NEXT;
    RETURN;
  END;
  outcome := 'held';
  held_quotes := held_quotes + 1;
  RETURN NEXT;
END;
$$;

-- The deploy step's claim of a paid quote's held devices, chained after PAID → MATCHING in the same
-- statement (p_go = the transition's `changed`, so a replay claims nothing). Held allocations on
-- devices that are no longer ONLINE, or that another ACTIVE allocation would overlap over the real
-- lease window [p_starts, p_ends), are released with p_release_reason (the deploy step matches
-- replacements for them); the others are re-windowed to [p_starts, p_ends), so the ack deadline and
-- the lease run from the deployment, not from the quote. The exclusion constraint still guards the
-- re-window: a race lost there fails the statement and the job retries.
CREATE FUNCTION "gpumesh_claim_held"(
  p_go boolean,
  p_cluster uuid,
  p_starts timestamptz,
  p_ends timestamptz,
  p_release_reason text
) RETURNS TABLE (kept_ids text[], kept_devices text[], kept_gpus integer[], released_ids text[], released_devices text[])
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT p_go THEN
    RETURN QUERY SELECT '{}'::text[], '{}'::text[], '{}'::integer[], '{}'::text[], '{}'::text[];
    RETURN;
  END IF;
  WITH gone AS (
    UPDATE "allocation" a
       SET "status" = 'RELEASED', "released_at" = p_starts, "release_reason" = left(p_release_reason, 200)
     WHERE a."cluster_id" = p_cluster AND a."status" = 'ACTIVE'
       AND (NOT EXISTS (SELECT 1 FROM "device" d WHERE d."id" = a."device_id" AND d."status" = 'ONLINE')
            OR EXISTS (SELECT 1 FROM "allocation" o
                        WHERE o."device_id" = a."device_id" AND o."status" = 'ACTIVE' AND o."id" <> a."id"
                          AND tstzrange(o."starts_at", o."ends_at", '[)') && tstzrange(p_starts, p_ends, '[)')))
    RETURNING a."id", a."device_id")
  SELECT coalesce(array_agg(g."id"::text ORDER BY g."device_id"), '{}'), coalesce(array_agg(g."device_id"::text ORDER BY g."device_id"), '{}')
    INTO released_ids, released_devices FROM gone g;
  WITH kept AS (
    UPDATE "allocation" a SET "starts_at" = p_starts, "ends_at" = p_ends
     WHERE a."cluster_id" = p_cluster AND a."status" = 'ACTIVE'
    RETURNING a."id", a."device_id", a."gpu_count")
  SELECT coalesce(array_agg(k."id"::text ORDER BY k."device_id"), '{}'), coalesce(array_agg(k."device_id"::text ORDER BY k."device_id"), '{}'),
         coalesce(array_agg(k."gpu_count" ORDER BY k."device_id"), '{}')
    INTO kept_ids, kept_devices, kept_gpus FROM kept k;
  RETURN NEXT;
END;
$$;
