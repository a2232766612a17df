-- Explorer rollups (issue #12): the scheduler's explorer job writes one snapshot per run; explorer
-- requests read these tables only. Primary keys lead with (resolution, bucket_at): latest and ranges.
CREATE TABLE "network_snapshot" (
    "resolution" VARCHAR(6) NOT NULL,
    "bucket_at" TIMESTAMPTZ(3) NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,
    "suppliers" INTEGER NOT NULL,
    "devices_total" INTEGER NOT NULL,
    "devices_online" INTEGER NOT NULL,
    "devices_hired" INTEGER NOT NULL,
    "gpus_total" INTEGER NOT NULL,
    "gpus_verified" INTEGER NOT NULL,
    "gpus_online" INTEGER NOT NULL,
    "gpus_hired" INTEGER NOT NULL,
    "cpu_cores_verified" INTEGER NOT NULL,
    "cpu_cores_online" INTEGER NOT NULL,
    "clusters_running" INTEGER NOT NULL,
    "revenue_usdc" BIGINT NOT NULL,
    "revenue_mesh" BIGINT NOT NULL,
    "mesh_minted" BIGINT NOT NULL,
    "mesh_burned" BIGINT NOT NULL,
    "mesh_minted_total" BIGINT NOT NULL,
    "mesh_burned_total" BIGINT NOT NULL,
    "paid_24h" INTEGER NOT NULL,
    "filled_24h" INTEGER NOT NULL,
    "unfilled_24h" INTEGER NOT NULL,
    "median_to_running_s" INTEGER,
    "p90_to_running_s" INTEGER,
    "ledger_cursor" BIGINT NOT NULL,
    "chain_cursor" BIGINT NOT NULL,
    CONSTRAINT "network_snapshot_pkey" PRIMARY KEY ("resolution", "bucket_at")
);

CREATE TABLE "model_snapshot" (
    "resolution" VARCHAR(6) NOT NULL,
    "bucket_at" TIMESTAMPTZ(3) NOT NULL,
    "gpu_model_id" VARCHAR(32) NOT NULL,
    "devices" INTEGER NOT NULL,
    "gpus" INTEGER NOT NULL,
    "gpus_online" INTEGER NOT NULL,
    "gpus_available" INTEGER NOT NULL,
    "min_price_per_gpu_hour" BIGINT,
    "median_price_per_gpu_hour" BIGINT,
    "avg_price_per_gpu_hour" BIGINT,
    CONSTRAINT "model_snapshot_pkey" PRIMARY KEY ("resolution", "bucket_at", "gpu_model_id")
);

CREATE TABLE "region_snapshot" (
    "resolution" VARCHAR(6) NOT NULL,
    "bucket_at" TIMESTAMPTZ(3) NOT NULL,
    "region" VARCHAR(32) NOT NULL,
    "devices" INTEGER NOT NULL,
    "gpus" INTEGER NOT NULL,
    "gpus_online" INTEGER NOT NULL,
    "gpus_available" INTEGER NOT NULL,
    "min_price_per_gpu_hour" BIGINT,
    "median_price_per_gpu_hour" BIGINT,
    "avg_price_per_gpu_hour" BIGINT,
    CONSTRAINT "region_snapshot_pkey" PRIMARY KEY ("resolution", "bucket_at", "region")
);

CREATE TABLE "capacity_shape" (
    "gpu_model_id" VARCHAR(32) NOT NULL,
    "gpu_count" INTEGER NOT NULL,
    "region" VARCHAR(32) NOT NULL,
    "connectivity_tier" VARCHAR(20) NOT NULL,
    "min_verification_bps" INTEGER NOT NULL,
    "single_node" INTEGER NOT NULL,
    "any_nodes" INTEGER NOT NULL,
    "free_gpus" INTEGER NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "capacity_shape_pkey" PRIMARY KEY ("gpu_model_id", "gpu_count", "region", "connectivity_tier", "min_verification_bps")
);

-- The fill rate reads the last day's clusters.
CREATE INDEX "cluster_created_at_idx" ON "cluster"("created_at");
-- The explorer rollup reads the settlements journaled since its last run.
CREATE INDEX "journal_created_at_idx" ON "journal"("created_at");
