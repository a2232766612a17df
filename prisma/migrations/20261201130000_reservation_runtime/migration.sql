-- Reservations re-check the device's runtime (issue #10). Placement only offers a cluster that brings
-- a workload (a container image) devices whose agents run images (device.runs_images), but an agent can
-- reconnect with another runtime between the placement and the reservation, or between the quote and
-- the payment. The statements that take devices are the guard, so they check it too:
-- * gpumesh_unavailable_devices gains p_needs_images: such a device is reported 'no-runtime'.
-- * gpumesh_reserve_gang asks for it when the cluster row has a workload (a paid cluster's deploy).
--   A quote's hold inserts its cluster row before the workload is stored, so the hold itself does not
--   check; the payment's gpumesh_claim_held does (next point), before anything runs.
-- * gpumesh_claim_held releases held devices that no longer run images when the cluster has a
--   workload, like devices that went offline: the deploy step matches replacements for them.
-- The bodies are otherwise those of 20261125000400_reservation_fn and 20261130120000_held_quotes.

CREATE FUNCTION "gpumesh_unavailable_devices"(p_devices uuid[], p_starts timestamptz, p_ends timestamptz, p_needs_images boolean)
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
                WHEN p_needs_images AND NOT d."runs_images" THEN 'no-runtime'
           END AS reason
      FROM unnest(p_devices) WITH ORDINALITY AS requested(id, ord)
      LEFT JOIN "device" d ON d."id" = requested.id) r
   WHERE r.reason IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION "gpumesh_reserve_gang"(
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
  needs_images boolean;
BEGIN
  SELECT c."status"::text, coalesce(jsonb_typeof(c."workload") = 'object', false) INTO from_status, needs_images FROM "cluster" c WHERE c."id" = p_cluster FOR UPDATE;
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
    FROM "gpumesh_unavailable_devices"(p_devices, p_starts, p_ends, needs_images) u;
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
      FROM "gpumesh_unavailable_devices"(p_devices, p_starts, p_ends, needs_images) u;
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

CREATE OR REPLACE FUNCTION "gpumesh_claim_held"(
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
       AND (NOT EXISTS (SELECT 1 FROM "device" d WHERE d."id" = a."device_id" AND d."status" = 'ONLINE'
                         AND (d."runs_images" OR NOT EXISTS (SELECT 1 FROM "cluster" c WHERE c."id" = p_cluster AND jsonb_typeof(c."workload") = 'object')))
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
