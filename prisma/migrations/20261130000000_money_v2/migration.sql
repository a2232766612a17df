-- Money v2 (issue #9): the ledger and the on-chain lease share one clock, one rate and one set of payees.
-- * cluster.lease_pda: the on-chain lease account; the indexer matches leases by it, never by lease_id alone.
-- * cluster.end_requested_at: the instant a renter asked to end (fixed once, so a retried end never bills
--   past the terminate).
-- * cluster.chain_closed_at: when the lease's end or cancel landed on-chain (null while the chain still
--   holds the escrow: a sweeper finishes it).
-- * allocation.chain_index / rate_per_second / billed_from: the on-chain allocation this device's share of
--   the lease maps to, its rate in base units per second and the second its billing starts (the agent's
--   ack, whole seconds); chain_added_at / chain_released_at record the on-chain steps.
-- * payment.event_index: one payment per (signature, event), so one transaction ending two leases keeps
--   both refunds.
ALTER TABLE "cluster" ADD COLUMN "lease_pda" VARCHAR(44);
ALTER TABLE "cluster" ADD COLUMN "end_requested_at" TIMESTAMPTZ(3);
ALTER TABLE "cluster" ADD COLUMN "chain_closed_at" TIMESTAMPTZ(3);
CREATE UNIQUE INDEX "cluster_lease_pda_key" ON "cluster"("lease_pda");

ALTER TABLE "allocation" ADD COLUMN "chain_index" INTEGER;
ALTER TABLE "allocation" ADD COLUMN "rate_per_second" BIGINT;
ALTER TABLE "allocation" ADD COLUMN "billed_from" TIMESTAMPTZ(3);
ALTER TABLE "allocation" ADD COLUMN "chain_added_at" TIMESTAMPTZ(3);
ALTER TABLE "allocation" ADD COLUMN "chain_released_at" TIMESTAMPTZ(3);
CREATE UNIQUE INDEX "allocation_cluster_id_chain_index_key" ON "allocation"("cluster_id", "chain_index");

CREATE INDEX "usage_record_cluster_id_period_start_idx" ON "usage_record"("cluster_id", "period_start");

ALTER TABLE "payment" ADD COLUMN "event_index" INTEGER NOT NULL DEFAULT 0;
DROP INDEX "payment_tx_signature_key";
CREATE UNIQUE INDEX "payment_tx_signature_event_index_key" ON "payment"("tx_signature", "event_index");
