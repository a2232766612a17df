-- The deploy step's writes as server-side functions, so each step is ONE round trip (one implicit
-- transaction) instead of an interactive Prisma transaction of 4-10 statements: the reservation
-- benchmark (bench/reservation.ts) was CPU-bound in Node building those statements. The rules stay
-- where they were: the state machine is checked by the caller (packages/db/src/cluster-transitions.ts
-- passes the allowed from-statuses), the exclusion constraint `allocation_device_no_overlap` is still
-- the final guard against double booking, and the deferred ledger triggers still check every journal.
-- Callers: packages/db/src/cluster-transitions.ts (transitionSql, transitionClusterSql) and
-- packages/db/src/reservations.ts (reserveGang, startMatchingSql, refundFailedSql, failAndRefundSql),
-- used by the deploy step in apps/scheduler/src/jobs/deploy.ts.

-- Moves a cluster to p_to when it currently is in p_allowed_from (the caller has already intersected
-- "expected" with the state machine's edges into p_to), with its cluster_event row, under the row
-- lock. Already in p_to: nothing written (idempotent replay). Any other status: nothing written; the
-- caller turns from_status into the right error. With p_release_reason, the cluster's ACTIVE
-- allocations are released in the same transaction (FAILED, REFUNDED). from_status is null when the
-- cluster does not exist.
CREATE FUNCTION "gpumesh_cluster_transition"(
  p_cluster uuid,
  p_to text,
  p_allowed_from text[],
  p_reason text,
  p_at timestamptz,
  p_stamp_started boolean,
  p_stamp_ended boolean,
  p_set_ends_at boolean,
  p_ends_at timestamptz,
  p_release_reason text
) RETURNS TABLE (from_status text, changed boolean, event_id bigint, released_ids text[], released_devices text[])
LANGUAGE plpgsql AS $$
DECLARE
  current_status text;
BEGIN
  SELECT c."status"::text INTO current_status FROM "cluster" c WHERE c."id" = p_cluster FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::text, false, NULL::bigint, NULL::text[], NULL::text[];
    RETURN;
  END IF;
  IF current_status = p_to OR NOT (current_status = ANY (p_allowed_from)) THEN
    RETURN QUERY SELECT current_status, false, NULL::bigint, NULL::text[], NULL::text[];
    RETURN;
  END IF;
  UPDATE "cluster" c
     SET "status" = p_to::"ClusterStatus",
         "started_at" = CASE WHEN p_stamp_started THEN coalesce(c."started_at", p_at) ELSE c."started_at" END,
         "ended_at" = CASE WHEN p_stamp_ended THEN coalesce(c."ended_at", p_at) ELSE c."ended_at" END,
         "ends_at" = CASE WHEN p_set_ends_at THEN p_ends_at ELSE c."ends_at" END,
         "updated_at" = p_at
   WHERE c."id" = p_cluster;
  INSERT INTO "cluster_event" ("cluster_id", "from_status", "to_status", "reason", "at")
  VALUES (p_cluster, current_status::"ClusterStatus", p_to::"ClusterStatus", p_reason, p_at)
  RETURNING "id" INTO event_id;
  from_status := current_status;
  changed := true;
  IF p_release_reason IS NOT NULL THEN
    WITH released AS (
      UPDATE "allocation" a
         SET "status" = 'RELEASED', "released_at" = p_at, "release_reason" = left(p_release_reason, 200)
       WHERE a."cluster_id" = p_cluster AND a."status" = 'ACTIVE'
      RETURNING a."id", a."device_id")
    SELECT coalesce(array_agg(r."id"::text ORDER BY r."device_id"), '{}'), coalesce(array_agg(r."device_id"::text ORDER BY r."device_id"), '{}')
      INTO released_ids, released_devices FROM released r;
  END IF;
  RETURN NEXT;
END;
$$;

-- Posts a balanced journal once per reference (same contract as postJournal in ledger.ts): accounts
-- are created on first use, a concurrent poster of the same reference waits on the unique index and
-- then finds the journal (created = false). Balance and token checks stay with the deferred triggers.
CREATE FUNCTION "gpumesh_post_journal"(
  p_reference text,
  p_description text,
  p_token text,
  p_occurred_at timestamptz,
  p_codes text[],
  p_types text[],
  p_amounts bigint[]
) RETURNS TABLE (journal_id uuid, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  wrong text;
BEGIN
  SELECT j."id" INTO journal_id FROM "journal" j WHERE j."reference" = p_reference;
  IF FOUND THEN
    created := false;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO "ledger_account" ("id", "code", "type", "token")
  SELECT gen_random_uuid(), a.code, a.type::"LedgerAccountType", p_token::"PaymentToken"
    FROM unnest(p_codes, p_types) AS a(code, type)
   ORDER BY a.code
  ON CONFLICT ("code") DO NOTHING;
  SELECT la."code" INTO wrong FROM "ledger_account" la
   WHERE la."code" = ANY (p_codes) AND la."token" <> p_token::"PaymentToken" LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger account % does not hold %', wrong, p_token USING ERRCODE = 'check_violation';
  END IF;
  INSERT INTO "journal" ("id", "reference", "description", "token", "occurred_at")
  VALUES (gen_random_uuid(), p_reference, left(p_description, 500), p_token::"PaymentToken", p_occurred_at)
  ON CONFLICT ("reference") DO NOTHING
  RETURNING "id" INTO journal_id;
  IF journal_id IS NULL THEN
    SELECT j."id" INTO journal_id FROM "journal" j WHERE j."reference" = p_reference;
    created := false;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO "ledger_entry" ("journal_id", "ledger_account_id", "token", "amount")
  SELECT journal_id, la."id", p_token::"PaymentToken", l.amount
    FROM unnest(p_codes, p_amounts) WITH ORDINALITY AS l(code, amount, ord)
    JOIN "ledger_account" la ON la."code" = l.code
   ORDER BY l.ord;
  created := true;
  RETURN NEXT;
END;
$$;

-- Refunds what is left in a cluster's escrow (deposit − Σ settled usage) to the renter, posting the
-- deposit journal first if the payment path has not (same reference: never twice). Call it in the
-- transaction that holds the cluster row lock (after gpumesh_cluster_transition); p_go = false makes
-- it a no-op, so a caller can chain it on the transition's `changed` in one statement.
CREATE FUNCTION "gpumesh_refund_escrow"(
  p_go boolean,
  p_cluster uuid,
  p_at timestamptz,
  p_deposit_reference text,
  p_deposit_description text,
  p_refund_reference text,
  p_refund_description text,
  p_renter_code text,
  p_escrow_code text
) RETURNS TABLE (amount bigint, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  deposit bigint;
  token text;
  settled bigint;
BEGIN
  IF NOT p_go THEN
    RETURN QUERY SELECT 0::bigint, false;
    RETURN;
  END IF;
  SELECT c."deposit_amount", c."payment_token"::text INTO deposit, token FROM "cluster" c WHERE c."id" = p_cluster;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'cluster % does not exist', p_cluster;
  END IF;
  IF deposit > 0 THEN
    PERFORM 1 FROM "gpumesh_post_journal"(p_deposit_reference, p_deposit_description, token, p_at,
      ARRAY[p_escrow_code, p_renter_code], ARRAY['LIABILITY', 'ASSET'], ARRAY[deposit, -deposit]);
  END IF;
  SELECT coalesce(sum(u."amount"), 0) INTO settled FROM "usage_record" u WHERE u."cluster_id" = p_cluster;
  amount := deposit - settled;
  IF amount < 0 THEN
    RAISE EXCEPTION 'cluster %: settled more than the deposit (% over)', p_cluster, -amount;
  END IF;
  IF amount = 0 THEN
    created := false;
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT j.created INTO created FROM "gpumesh_post_journal"(p_refund_reference, p_refund_description, token, p_at,
    ARRAY[p_renter_code, p_escrow_code], ARRAY['ASSET', 'LIABILITY'], ARRAY[amount, -amount]) j;
  RETURN NEXT;
END;
$$;

-- The gang reservation in one call: lock the cluster row, check it is still in p_expected with the
-- GPUs the caller saw (p_held_gpus), try-lock every device (advisory, never waiting: a device being
-- reserved right now is reported 'contended'), pre-check committed state ('reserved', 'not-online',
-- 'unknown'), then — for MATCHING — move to DEPLOYING with its cluster_event row and insert the gang,
-- all or nothing. p_devices must be sorted (device-id order: gangs sharing devices cannot deadlock).
-- A race lost at the exclusion constraint (a writer that skipped the try-lock, a lock-key collision)
-- rolls back the move and the inserts (sub-transaction) and is reported like the pre-check, naming
-- the device from the constraint's DETAIL plus every device taken by then.
-- outcome: 'reserved' | 'moved' (status or held GPUs changed: re-read) | 'unavailable' | 'missing'.
CREATE FUNCTION "gpumesh_reserve_gang"(
  p_cluster uuid,
  p_expected text,
  p_reason text,
  p_at timestamptz,
  p_held_gpus integer,
  p_starts timestamptz,
  p_ends timestamptz,
  p_devices uuid[],
  p_gpu_counts integer[],
  p_prices bigint[],
  p_lock_space integer,
  p_try_lock boolean
) RETURNS TABLE (outcome text, from_status text, event_id bigint, allocation_ids text[], allocation_devices text[], unavailable_ids text[], unavailable_reasons text[])
LANGUAGE plpgsql AS $$
DECLARE
  held bigint;
  detail text;
  named text;
BEGIN
  SELECT c."status"::text INTO from_status FROM "cluster" c WHERE c."id" = p_cluster FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'missing';
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT coalesce(sum(a."gpu_count"), 0) INTO held FROM "allocation" a WHERE a."cluster_id" = p_cluster AND a."status" = 'ACTIVE';
  IF from_status <> p_expected OR held <> p_held_gpus THEN
    outcome := 'moved';
    RETURN NEXT;
    RETURN;
  END IF;
  IF p_try_lock THEN
    SELECT array_agg(t.id::text ORDER BY t.ord), array_agg('contended'::text ORDER BY t.ord)
      INTO unavailable_ids, unavailable_reasons
      FROM unnest(p_devices) WITH ORDINALITY AS t(id, ord)
     WHERE NOT pg_try_advisory_xact_lock(p_lock_space, hashtext(t.id::text));
    IF unavailable_ids IS NOT NULL THEN
      outcome := 'unavailable';
      RETURN NEXT;
      RETURN;
    END IF;
  END IF;
  SELECT array_agg(u.id ORDER BY u.ord), array_agg(u.reason ORDER BY u.ord) INTO unavailable_ids, unavailable_reasons
    FROM "gpumesh_unavailable_devices"(p_devices, p_starts, p_ends) u;
  IF unavailable_ids IS NOT NULL THEN
    outcome := 'unavailable';
    RETURN NEXT;
    RETURN;
  END IF;
  BEGIN
    IF p_expected = 'MATCHING' THEN
      UPDATE "cluster" c SET "status" = 'DEPLOYING', "updated_at" = p_at WHERE c."id" = p_cluster;
      INSERT INTO "cluster_event" ("cluster_id", "from_status", "to_status", "reason", "at")
      VALUES (p_cluster, 'MATCHING', 'DEPLOYING', p_reason, p_at)
      RETURNING "id" INTO event_id;
    END IF;
    WITH inserted AS (
      INSERT INTO "allocation" ("id", "cluster_id", "device_id", "gpu_count", "price_per_gpu_hour", "starts_at", "ends_at", "status")
      SELECT gen_random_uuid(), p_cluster, claim.device_id, claim.gpu_count, claim.price, p_starts, p_ends, 'ACTIVE'
        FROM unnest(p_devices, p_gpu_counts, p_prices) WITH ORDINALITY AS claim(device_id, gpu_count, price, ord)
       ORDER BY claim.ord
      RETURNING "id", "device_id")
    SELECT array_agg(i."id"::text ORDER BY i."device_id"), array_agg(i."device_id"::text ORDER BY i."device_id")
      INTO allocation_ids, allocation_devices FROM inserted i;
  EXCEPTION WHEN exclusion_violation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    event_id := NULL;
    allocation_ids := NULL;
    allocation_devices := NULL;
    -- The winner has committed by now (Postgres made us wait for it), and this statement sees it.
    SELECT array_agg(u.id ORDER BY u.ord), array_agg(u.reason ORDER BY u.ord) INTO unavailable_ids, unavailable_reasons
      FROM "gpumesh_unavailable_devices"(p_devices, p_starts, p_ends) u;
    named := lower(substring(detail FROM '=\(([0-9a-fA-F-]{36})'));
    IF named IS NOT NULL AND named::uuid = ANY (p_devices) AND NOT (named = ANY (coalesce(unavailable_ids, '{}'))) THEN
      unavailable_ids := coalesce(unavailable_ids, '{}') || named;
      unavailable_reasons := coalesce(unavailable_reasons, '{}') || 'reserved'::text;
    END IF;
    IF unavailable_ids IS NULL THEN
      -- The winner already released again: we cannot tell which device it was, so the whole gang is
      -- reported and the caller re-matches instead of looping on the same set.
      SELECT array_agg(t.id::text ORDER BY t.ord), array_agg('reserved'::text ORDER BY t.ord) INTO unavailable_ids, unavailable_reasons
        FROM unnest(p_devices) WITH ORDINALITY AS t(id, ord);
    END IF;
    outcome := 'unavailable';
    RETURN NEXT;
    RETURN;
  END;
  outcome := 'reserved';
  RETURN NEXT;
END;
$$;

-- Which of p_devices cannot be had over [p_starts, p_ends) in committed state, and why (same rules as
-- unavailableDevices in reservations.ts). VOLATILE (the default): each call sees the latest commits.
CREATE FUNCTION "gpumesh_unavailable_devices"(p_devices uuid[], p_starts timestamptz, p_ends timestamptz)
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
           END AS reason
      FROM unnest(p_devices) WITH ORDINALITY AS requested(id, ord)
      LEFT JOIN "device" d ON d."id" = requested.id) r
   WHERE r.reason IS NOT NULL
$$;
