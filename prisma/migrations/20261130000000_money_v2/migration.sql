-- Money v2 (issue #9): the ledger and the on-chain lease share one clock, one rate and one set of payees.
-- * cluster.lease_pda: the on-chain lease account; the indexer matches leases by it, never by lease_id alone.
-- * cluster.end_requested_at: the instant a renter asked to end (fixed once, so a retried end never bills
--   past the terminate).
-- * cluster.chain_closed_at: when the lease's end or cancel landed on-chain (null while the chain still
--   holds the escrow: a sweeper finishes it).
-- * allocation.chain_index / rate_per_second / billed_from: the on-chain allocation this device's share of
--   the lease maps to, its rate in base units per second and the second its billing starts (the agent's
--   ack, whole seconds); chain_added_at / chain_released_at record the on-chain steps.
-- * cluster.fee_bps / burn_bps: the lease's own rates, snapshotted when it was paid (the program snapshots
--   them in the lease), so a config change while it runs never splits the ledger and the chain apart.
-- * allocation.billed_until: the second its billing stopped (release, clamped so on-chain changes stay in
--   time order); null while it serves (then the lease's end bounds it).
-- * payment.event_index: one payment per (signature, event), so one transaction ending two leases keeps
--   both refunds.
ALTER TABLE "cluster" ADD COLUMN "lease_pda" VARCHAR(44);
ALTER TABLE "cluster" ADD COLUMN "end_requested_at" TIMESTAMPTZ(3);
ALTER TABLE "cluster" ADD COLUMN "chain_closed_at" TIMESTAMPTZ(3);
ALTER TABLE "cluster" ADD COLUMN "fee_bps" INTEGER;
ALTER TABLE "cluster" ADD COLUMN "burn_bps" INTEGER;
CREATE UNIQUE INDEX "cluster_lease_pda_key" ON "cluster"("lease_pda");
-- The sweep for leases still open on-chain reads only those (a partial index: ended history never grows it).
CREATE INDEX "cluster_lease_open_on_chain" ON "cluster"("updated_at") WHERE "lease_id" IS NOT NULL AND "chain_closed_at" IS NULL;

ALTER TABLE "allocation" ADD COLUMN "chain_index" INTEGER;
ALTER TABLE "allocation" ADD COLUMN "rate_per_second" BIGINT;
ALTER TABLE "allocation" ADD COLUMN "billed_from" TIMESTAMPTZ(3);
ALTER TABLE "allocation" ADD COLUMN "billed_until" TIMESTAMPTZ(3);
ALTER TABLE "allocation" ADD COLUMN "chain_added_at" TIMESTAMPTZ(3);
ALTER TABLE "allocation" ADD COLUMN "chain_released_at" TIMESTAMPTZ(3);
CREATE UNIQUE INDEX "allocation_cluster_id_chain_index_key" ON "allocation"("cluster_id", "chain_index");

CREATE INDEX "usage_record_cluster_id_period_start_idx" ON "usage_record"("cluster_id", "period_start");

ALTER TABLE "payment" ADD COLUMN "event_index" INTEGER NOT NULL DEFAULT 0;
DROP INDEX "payment_tx_signature_key";
CREATE UNIQUE INDEX "payment_tx_signature_event_index_key" ON "payment"("tx_signature", "event_index");

-- The escrow refund, now only for money that was escrowed: a cluster that failed straight out of
-- REQUESTED (its quote was never paid) has no deposit, so it gets neither a deposit journal nor a refund
-- (before, REQUESTED → FAILED booked a deposit nobody made and refunded it). Settlement can no
-- longer exceed the deposit (packages/db settleClusterPeriod checks it), so the shortfall stays an error.
CREATE OR REPLACE FUNCTION "gpumesh_refund_escrow"(
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
  escrowed boolean;
BEGIN
  IF NOT p_go THEN
    RETURN QUERY SELECT 0::bigint, false;
    RETURN;
  END IF;
  -- Only a cluster that failed straight out of REQUESTED (the quote was never paid) holds no deposit.
  SELECT c."deposit_amount", c."payment_token"::text,
         EXISTS (SELECT 1 FROM "journal" j WHERE j."reference" = p_deposit_reference)
         OR NOT EXISTS (SELECT 1 FROM "cluster_event" e WHERE e."cluster_id" = c."id" AND e."from_status" = 'REQUESTED' AND e."to_status" = 'FAILED')
    INTO deposit, token, escrowed
    FROM "cluster" c WHERE c."id" = p_cluster;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'cluster % does not exist', p_cluster;
  END IF;
  IF NOT escrowed OR deposit = 0 THEN
    RETURN QUERY SELECT 0::bigint, false;
    RETURN;
  END IF;
  PERFORM 1 FROM "gpumesh_post_journal"(p_deposit_reference, p_deposit_description, token, p_at,
    ARRAY[p_escrow_code, p_renter_code], ARRAY['LIABILITY', 'ASSET'], ARRAY[deposit, -deposit]);
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

-- Reconciliation of each closed lease: what the chain paid (per supplier, fee, burn, refund) against the
-- ledger's journals for it. A mismatch is recorded and reported (log, admin API), never corrected here.
CREATE TABLE "lease_reconciliation" (
  "cluster_id" UUID NOT NULL,
  "checked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "ok" BOOLEAN NOT NULL,
  "mismatches" JSONB NOT NULL,
  CONSTRAINT "lease_reconciliation_pkey" PRIMARY KEY ("cluster_id"),
  CONSTRAINT "lease_reconciliation_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "lease_reconciliation_ok_checked_at_idx" ON "lease_reconciliation"("ok", "checked_at");
