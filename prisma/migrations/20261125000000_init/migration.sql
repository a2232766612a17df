-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "SupplierNetwork" AS ENUM ('GPUMESH', 'RENDER', 'FILECOIN', 'AETHIR');

-- CreateEnum
CREATE TYPE "SecurityTier" AS ENUM ('STANDARD', 'ENCRYPTED', 'COMPLIANCE');

-- CreateEnum
CREATE TYPE "ConnectivityTier" AS ENUM ('STANDARD', 'HIGH_SPEED', 'ULTRA_HIGH_SPEED');

-- CreateEnum
CREATE TYPE "DeviceStatus" AS ENUM ('REGISTERED', 'ONLINE', 'OFFLINE', 'SUSPENDED');

-- CreateEnum
CREATE TYPE "ClusterType" AS ENUM ('RAY', 'KUBERNETES', 'CONTAINER', 'BARE_METAL');

-- CreateEnum
CREATE TYPE "BillingPeriod" AS ENUM ('HOURLY', 'DAILY', 'WEEKLY');

-- CreateEnum
CREATE TYPE "PaymentToken" AS ENUM ('USDC', 'MESH');

-- CreateEnum
CREATE TYPE "ClusterStatus" AS ENUM ('REQUESTED', 'PAID', 'MATCHING', 'DEPLOYING', 'RUNNING', 'DEGRADED', 'ENDING', 'ENDED', 'FAILED', 'REFUNDED');

-- CreateEnum
CREATE TYPE "AllocationStatus" AS ENUM ('ACTIVE', 'RELEASED');

-- CreateEnum
CREATE TYPE "PaymentKind" AS ENUM ('DEPOSIT', 'EXTENSION', 'REFUND');

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('PENDING', 'CONFIRMED', 'FAILED');

-- CreateEnum
CREATE TYPE "LedgerAccountType" AS ENUM ('ASSET', 'LIABILITY', 'EQUITY', 'REVENUE', 'EXPENSE');

-- CreateEnum
CREATE TYPE "ChallengeKind" AS ENUM ('CPU_GEMM', 'GPU_GEMM');

-- CreateEnum
CREATE TYPE "ChallengeStatus" AS ENUM ('PENDING', 'PASSED', 'FAILED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "RewardEpochStatus" AS ENUM ('OPEN', 'COMPUTED', 'POSTED');

-- CreateTable
CREATE TABLE "account" (
    "id" UUID NOT NULL,
    "wallet_address" VARCHAR(44) NOT NULL,
    "display_name" VARCHAR(80),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_sign_in_at" TIMESTAMPTZ(3),

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "supplier" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "network" "SupplierNetwork" NOT NULL DEFAULT 'GPUMESH',
    "payout_token_account" VARCHAR(44),
    "on_chain_address" VARCHAR(44),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "supplier_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "gpu_model" (
    "id" VARCHAR(32) NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "vendor" VARCHAR(16) NOT NULL,
    "architecture" VARCHAR(32) NOT NULL,
    "vram_gb" INTEGER NOT NULL,
    "performance_weight_bps" INTEGER NOT NULL,
    "hyperscaler_price_per_hour" BIGINT,
    "reference_price_per_hour" BIGINT NOT NULL,

    CONSTRAINT "gpu_model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" UUID NOT NULL,
    "supplier_id" UUID NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "gpu_model_id" VARCHAR(32),
    "gpu_count" INTEGER NOT NULL,
    "vram_gb" INTEGER NOT NULL,
    "cpu_model" VARCHAR(80) NOT NULL,
    "cpu_cores" INTEGER NOT NULL,
    "ram_gb" INTEGER NOT NULL,
    "disk_gb" INTEGER NOT NULL,
    "region" VARCHAR(32) NOT NULL,
    "country" CHAR(2) NOT NULL,
    "city" VARCHAR(64) NOT NULL,
    "bandwidth_up_mbps" INTEGER NOT NULL,
    "bandwidth_down_mbps" INTEGER NOT NULL,
    "security_tier" "SecurityTier" NOT NULL DEFAULT 'STANDARD',
    "connectivity_tier" "ConnectivityTier" NOT NULL DEFAULT 'STANDARD',
    "network" "SupplierNetwork" NOT NULL DEFAULT 'GPUMESH',
    "status" "DeviceStatus" NOT NULL DEFAULT 'REGISTERED',
    "price_per_gpu_hour" BIGINT NOT NULL,
    "last_heartbeat_at" TIMESTAMPTZ(3),
    "verification_score_bps" INTEGER NOT NULL DEFAULT 0,
    "verified_at" TIMESTAMPTZ(3),
    "agent_public_key" VARCHAR(44),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cluster" (
    "id" UUID NOT NULL,
    "renter_id" UUID NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "type" "ClusterType" NOT NULL,
    "gpu_model_ids" VARCHAR(32)[],
    "gpu_count" INTEGER NOT NULL,
    "min_vram_gb" INTEGER NOT NULL DEFAULT 0,
    "regions" VARCHAR(32)[],
    "connectivity_tier" "ConnectivityTier" NOT NULL DEFAULT 'STANDARD',
    "encrypted_traffic" BOOLEAN NOT NULL DEFAULT false,
    "compliance_only" BOOLEAN NOT NULL DEFAULT false,
    "supplier_networks" "SupplierNetwork"[],
    "duration_hours" INTEGER NOT NULL,
    "billing_period" "BillingPeriod" NOT NULL DEFAULT 'HOURLY',
    "payment_token" "PaymentToken" NOT NULL DEFAULT 'USDC',
    "max_price_per_gpu_hour" BIGINT,
    "price_per_second" BIGINT NOT NULL,
    "deposit_amount" BIGINT NOT NULL,
    "status" "ClusterStatus" NOT NULL DEFAULT 'REQUESTED',
    "lease_id" BIGINT,
    "started_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cluster_event" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" UUID NOT NULL,
    "from_status" "ClusterStatus",
    "to_status" "ClusterStatus" NOT NULL,
    "reason" VARCHAR(500) NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cluster_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "allocation" (
    "id" UUID NOT NULL,
    "cluster_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "gpu_count" INTEGER NOT NULL,
    "price_per_gpu_hour" BIGINT NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "AllocationStatus" NOT NULL DEFAULT 'ACTIVE',
    "acknowledged_at" TIMESTAMPTZ(3),
    "released_at" TIMESTAMPTZ(3),
    "release_reason" VARCHAR(200),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "allocation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payment" (
    "id" UUID NOT NULL,
    "cluster_id" UUID,
    "account_id" UUID NOT NULL,
    "kind" "PaymentKind" NOT NULL,
    "token" "PaymentToken" NOT NULL,
    "amount" BIGINT NOT NULL,
    "tx_signature" VARCHAR(88) NOT NULL,
    "status" "PaymentStatus" NOT NULL DEFAULT 'PENDING',
    "slot" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "confirmed_at" TIMESTAMPTZ(3),

    CONSTRAINT "payment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_account" (
    "id" UUID NOT NULL,
    "code" VARCHAR(160) NOT NULL,
    "type" "LedgerAccountType" NOT NULL,
    "token" "PaymentToken" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "journal" (
    "id" UUID NOT NULL,
    "reference" VARCHAR(200) NOT NULL,
    "description" VARCHAR(500) NOT NULL,
    "token" "PaymentToken" NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_entry" (
    "id" BIGSERIAL NOT NULL,
    "journal_id" UUID NOT NULL,
    "ledger_account_id" UUID NOT NULL,
    "token" "PaymentToken" NOT NULL,
    "amount" BIGINT NOT NULL,

    CONSTRAINT "ledger_entry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_record" (
    "id" UUID NOT NULL,
    "allocation_id" UUID NOT NULL,
    "cluster_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "gpu_seconds" BIGINT NOT NULL,
    "amount" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_record_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification_challenge" (
    "id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "kind" "ChallengeKind" NOT NULL,
    "seed" CHAR(64) NOT NULL,
    "matrix_size" INTEGER NOT NULL,
    "status" "ChallengeStatus" NOT NULL DEFAULT 'PENDING',
    "issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deadline_at" TIMESTAMPTZ(3) NOT NULL,
    "responded_at" TIMESTAMPTZ(3),
    "commitment" CHAR(64),
    "elapsed_ms" INTEGER,
    "sampled_rows" INTEGER[],
    "failure_reason" VARCHAR(200),

    CONSTRAINT "verification_challenge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reward_epoch" (
    "epoch" INTEGER NOT NULL,
    "hour_start" TIMESTAMPTZ(3) NOT NULL,
    "emission" BIGINT NOT NULL,
    "cumulative_total" BIGINT NOT NULL,
    "merkle_root" CHAR(64),
    "status" "RewardEpochStatus" NOT NULL DEFAULT 'OPEN',
    "posted_tx_signature" VARCHAR(88),
    "posted_at" TIMESTAMPTZ(3),

    CONSTRAINT "reward_epoch_pkey" PRIMARY KEY ("epoch")
);

-- CreateTable
CREATE TABLE "reward_contribution" (
    "epoch" INTEGER NOT NULL,
    "device_id" UUID NOT NULL,
    "gpu_seconds" BIGINT NOT NULL,
    "weight_bps" INTEGER NOT NULL,
    "uptime_bps" INTEGER NOT NULL,
    "amount" BIGINT NOT NULL,

    CONSTRAINT "reward_contribution_pkey" PRIMARY KEY ("epoch","device_id")
);

-- CreateTable
CREATE TABLE "reward_leaf" (
    "epoch" INTEGER NOT NULL,
    "claimant" VARCHAR(44) NOT NULL,
    "cumulative" BIGINT NOT NULL,
    "proof" TEXT[],

    CONSTRAINT "reward_leaf_pkey" PRIMARY KEY ("epoch","claimant")
);

-- CreateTable
CREATE TABLE "claim" (
    "id" UUID NOT NULL,
    "claimant" VARCHAR(44) NOT NULL,
    "amount" BIGINT NOT NULL,
    "cumulative" BIGINT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "tx_signature" VARCHAR(88) NOT NULL,
    "claimed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "claim_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "account_wallet_address_key" ON "account"("wallet_address");

-- CreateIndex
CREATE UNIQUE INDEX "supplier_account_id_key" ON "supplier"("account_id");

-- CreateIndex
CREATE UNIQUE INDEX "supplier_on_chain_address_key" ON "supplier"("on_chain_address");

-- CreateIndex
CREATE UNIQUE INDEX "gpu_model_name_key" ON "gpu_model"("name");

-- CreateIndex
CREATE UNIQUE INDEX "device_agent_public_key_key" ON "device"("agent_public_key");

-- CreateIndex
CREATE INDEX "device_supplier_id_idx" ON "device"("supplier_id");

-- CreateIndex
CREATE INDEX "device_gpu_model_id_region_status_idx" ON "device"("gpu_model_id", "region", "status");

-- CreateIndex
CREATE INDEX "device_status_last_heartbeat_at_idx" ON "device"("status", "last_heartbeat_at");

-- CreateIndex
CREATE UNIQUE INDEX "cluster_lease_id_key" ON "cluster"("lease_id");

-- CreateIndex
CREATE INDEX "cluster_renter_id_created_at_idx" ON "cluster"("renter_id", "created_at");

-- CreateIndex
CREATE INDEX "cluster_status_idx" ON "cluster"("status");

-- CreateIndex
CREATE INDEX "cluster_event_cluster_id_at_idx" ON "cluster_event"("cluster_id", "at");

-- CreateIndex
CREATE INDEX "allocation_cluster_id_idx" ON "allocation"("cluster_id");

-- CreateIndex
CREATE INDEX "allocation_device_id_status_idx" ON "allocation"("device_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "payment_tx_signature_key" ON "payment"("tx_signature");

-- CreateIndex
CREATE INDEX "payment_account_id_created_at_idx" ON "payment"("account_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_account_code_key" ON "ledger_account"("code");

-- CreateIndex
CREATE UNIQUE INDEX "journal_reference_key" ON "journal"("reference");

-- CreateIndex
CREATE INDEX "ledger_entry_journal_id_idx" ON "ledger_entry"("journal_id");

-- CreateIndex
CREATE INDEX "ledger_entry_ledger_account_id_idx" ON "ledger_entry"("ledger_account_id");

-- CreateIndex
CREATE INDEX "usage_record_device_id_period_start_idx" ON "usage_record"("device_id", "period_start");

-- CreateIndex
CREATE UNIQUE INDEX "usage_record_allocation_id_period_start_key" ON "usage_record"("allocation_id", "period_start");

-- CreateIndex
CREATE INDEX "verification_challenge_device_id_issued_at_idx" ON "verification_challenge"("device_id", "issued_at");

-- CreateIndex
CREATE INDEX "verification_challenge_status_deadline_at_idx" ON "verification_challenge"("status", "deadline_at");

-- CreateIndex
CREATE UNIQUE INDEX "reward_epoch_hour_start_key" ON "reward_epoch"("hour_start");

-- CreateIndex
CREATE UNIQUE INDEX "reward_epoch_posted_tx_signature_key" ON "reward_epoch"("posted_tx_signature");

-- CreateIndex
CREATE INDEX "reward_contribution_device_id_idx" ON "reward_contribution"("device_id");

-- CreateIndex
CREATE INDEX "reward_leaf_claimant_idx" ON "reward_leaf"("claimant");

-- CreateIndex
CREATE UNIQUE INDEX "claim_tx_signature_key" ON "claim"("tx_signature");

-- CreateIndex
CREATE INDEX "claim_claimant_claimed_at_idx" ON "claim"("claimant", "claimed_at");

-- AddForeignKey
ALTER TABLE "supplier" ADD CONSTRAINT "supplier_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_supplier_id_fkey" FOREIGN KEY ("supplier_id") REFERENCES "supplier"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_gpu_model_id_fkey" FOREIGN KEY ("gpu_model_id") REFERENCES "gpu_model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cluster" ADD CONSTRAINT "cluster_renter_id_fkey" FOREIGN KEY ("renter_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cluster_event" ADD CONSTRAINT "cluster_event_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payment" ADD CONSTRAINT "payment_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payment" ADD CONSTRAINT "payment_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ledger_entry" ADD CONSTRAINT "ledger_entry_journal_id_fkey" FOREIGN KEY ("journal_id") REFERENCES "journal"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ledger_entry" ADD CONSTRAINT "ledger_entry_ledger_account_id_fkey" FOREIGN KEY ("ledger_account_id") REFERENCES "ledger_account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_allocation_id_fkey" FOREIGN KEY ("allocation_id") REFERENCES "allocation"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "verification_challenge" ADD CONSTRAINT "verification_challenge_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reward_contribution" ADD CONSTRAINT "reward_contribution_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "reward_epoch"("epoch") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reward_contribution" ADD CONSTRAINT "reward_contribution_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reward_leaf" ADD CONSTRAINT "reward_leaf_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "reward_epoch"("epoch") ON DELETE CASCADE ON UPDATE CASCADE;

