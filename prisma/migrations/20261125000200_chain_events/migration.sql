-- Program events mirrored by the chain indexer (the explorer's source for on-chain money: settlements,
-- burns, refunds, emissions, claims) and the indexer's durable cursor.

-- CreateTable
CREATE TABLE "chain_event" (
    "signature" VARCHAR(88) NOT NULL,
    "event_index" INTEGER NOT NULL,
    "slot" BIGINT NOT NULL,
    "block_time" TIMESTAMPTZ(3),
    "name" VARCHAR(40) NOT NULL,
    "lease" VARCHAR(44),
    "lease_id" BIGINT,
    "claimant" VARCHAR(44),
    "mint" VARCHAR(44),
    "deposit" BIGINT,
    "gross" BIGINT,
    "fee" BIGINT,
    "burned" BIGINT,
    "treasury" BIGINT,
    "supplier_amount" BIGINT,
    "refund" BIGINT,
    "emission" BIGINT,
    "claim_amount" BIGINT,
    "data" JSONB NOT NULL,
    "indexed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chain_event_pkey" PRIMARY KEY ("signature","event_index")
);

-- CreateTable
CREATE TABLE "chain_cursor" (
    "program_id" VARCHAR(44) NOT NULL,
    "signature" VARCHAR(88) NOT NULL,
    "slot" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "chain_cursor_pkey" PRIMARY KEY ("program_id")
);

-- CreateIndex
CREATE INDEX "chain_event_name_block_time_idx" ON "chain_event"("name", "block_time");

-- CreateIndex
CREATE INDEX "chain_event_lease_idx" ON "chain_event"("lease");

-- CreateIndex
CREATE INDEX "chain_event_claimant_idx" ON "chain_event"("claimant");

-- Amounts are token base units: never negative.
ALTER TABLE "chain_event" ADD CONSTRAINT "chain_event_amounts_non_negative" CHECK (
    coalesce("deposit", 0) >= 0 AND coalesce("gross", 0) >= 0 AND coalesce("fee", 0) >= 0 AND coalesce("burned", 0) >= 0
    AND coalesce("treasury", 0) >= 0 AND coalesce("supplier_amount", 0) >= 0 AND coalesce("refund", 0) >= 0
    AND coalesce("emission", 0) >= 0 AND coalesce("claim_amount", 0) >= 0
);
