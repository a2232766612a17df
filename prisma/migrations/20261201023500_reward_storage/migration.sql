-- Reward storage that scales (issue #12). An epoch used to store one leaf, with its full proof, for
-- every claimant ever paid (~876M rows a year at 100k claimants); now it stores a leaf only for the
-- claimants whose cumulative changed, proofs are built on demand, and reward_balance holds every
-- claimant's current cumulative so the next epoch reads one row per claimant.

-- What each epoch split and over what total weight, so anyone can recompute a device's share.
ALTER TABLE "reward_epoch" ADD COLUMN "pool" BIGINT NOT NULL DEFAULT 0,
                           ADD COLUMN "total_weight" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "reward_contribution" ADD COLUMN "weight" BIGINT NOT NULL DEFAULT 0;
UPDATE "reward_contribution" SET "weight" = "gpu_seconds" * "weight_bps";
UPDATE "reward_epoch" e SET
  "total_weight" = coalesce((SELECT sum(c."weight") FROM "reward_contribution" c WHERE c."epoch" = e."epoch"), 0),
  "pool" = e."cumulative_total" - coalesce((SELECT p."cumulative_total" FROM "reward_epoch" p WHERE p."epoch" < e."epoch" ORDER BY p."epoch" DESC LIMIT 1), 0);
ALTER TABLE "reward_epoch" ALTER COLUMN "pool" DROP DEFAULT, ALTER COLUMN "total_weight" DROP DEFAULT;
ALTER TABLE "reward_contribution" ALTER COLUMN "weight" DROP DEFAULT;

-- Leaves: no stored proofs, and only where the cumulative changed (an unchanged one repeats the
-- claimant's previous leaf, which "newest leaf with epoch <= t" already finds).
ALTER TABLE "reward_leaf" DROP COLUMN "proof";
DELETE FROM "reward_leaf" l USING (
  SELECT "epoch", "claimant", "cumulative" = lag("cumulative") OVER (PARTITION BY "claimant" ORDER BY "epoch") AS unchanged
    FROM "reward_leaf"
) r WHERE r.unchanged AND l."epoch" = r."epoch" AND l."claimant" = r."claimant";
DROP INDEX "reward_leaf_claimant_idx";
CREATE INDEX "reward_leaf_claimant_epoch_idx" ON "reward_leaf"("claimant", "epoch");

CREATE TABLE "reward_balance" (
    "claimant" VARCHAR(44) NOT NULL,
    "cumulative" BIGINT NOT NULL,
    "epoch" INTEGER NOT NULL,

    CONSTRAINT "reward_balance_pkey" PRIMARY KEY ("claimant")
);
INSERT INTO "reward_balance" ("claimant", "cumulative", "epoch")
SELECT DISTINCT ON ("claimant") "claimant", "cumulative", "epoch" FROM "reward_leaf" ORDER BY "claimant", "epoch" DESC;
ALTER TABLE "reward_balance" ADD CONSTRAINT "reward_balance_cumulative_non_negative" CHECK ("cumulative" >= 0);

-- The epoch reads one hour's outages: those that ended after it began, plus the open ones
-- (device_outage_open), instead of probing every device's outage history.
CREATE INDEX "device_outage_ended_at_idx" ON "device_outage"("ended_at");
