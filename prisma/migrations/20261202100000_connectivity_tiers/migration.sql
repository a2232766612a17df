-- io.net's four connectivity tiers (issue #10), replacing STANDARD / HIGH_SPEED / ULTRA_HIGH_SPEED.
-- The rule and the figures live in packages/core/src/schemas/enums.ts (CONNECTIVITY_TIERS,
-- connectivityTierFor): a device's tier is the highest whose download AND upload minimums its measured
-- link meets, in MB/s, compared in Mbps as MB/s × 8 (ultra-high 1,600 / 1,200 MB/s = 12,800 / 9,600
-- Mbps, high 800 / 600 = 6,400 / 4,800, medium 400 / 300 = 3,200 / 2,400); every other device is LOW
-- (the floor). The type is replaced rather than altered (Postgres cannot drop enum values):
--
-- * device.connectivity_tier is reclassified from the measured bandwidth columns, not mapped from the
--   old names: the old tiers compared min(up, down) with other figures, so a name says nothing exact
--   about the new tier.
-- * cluster.connectivity_tier is the renter's requirement, a promise made when the cluster was sold, so
--   each old tier maps to the LOWEST new tier that still keeps its promise (a higher one would only
--   shrink the devices a replacement can come from):
--     STANDARD         → LOW         STANDARD admitted every device (anything under 1 Gbps was classed
--                                    STANDARD), as LOW does.
--     HIGH_SPEED       → MEDIUM      it promised ≥ 1 Gbps both ways; MEDIUM's 3,200 / 2,400 Mbps keeps
--                                    that, LOW's does not.
--     ULTRA_HIGH_SPEED → ULTRA_HIGH  it promised ≥ 10 Gbps both ways; the highest tier there is
--                                    (12,800 down, but 9,600 up: no new tier guarantees 10 Gbps up).
-- * The placement feed's device update trigger names connectivity_tier in its WHEN clause, which
--   blocks the column's type change: it is dropped and recreated unchanged. The rewrite fires no
--   trigger; schedulers (their placement index caches tier names) run the new code, so they start
--   after this migration and read every device afresh.
-- * gpumesh_hold_quote casts its text argument to "ConnectivityTier" inside its body, resolved by name
--   when it runs: it needs no change.
-- * capacity_shape.connectivity_tier is text holding old tier names ('*' or a tier-or-better filter):
--   the rows are a "now" snapshot that every explorer rollup replaces whole, so they are deleted here
--   and the next rollup writes the new tiers.

ALTER TYPE "ConnectivityTier" RENAME TO "ConnectivityTier_old";
CREATE TYPE "ConnectivityTier" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'ULTRA_HIGH');

DROP TRIGGER device_placement_feed_update ON device;

ALTER TABLE "device" ALTER COLUMN "connectivity_tier" DROP DEFAULT;
ALTER TABLE "device" ALTER COLUMN "connectivity_tier" TYPE "ConnectivityTier" USING (
  CASE
    WHEN "bandwidth_down_mbps" >= 12800 AND "bandwidth_up_mbps" >= 9600 THEN 'ULTRA_HIGH'
    WHEN "bandwidth_down_mbps" >= 6400 AND "bandwidth_up_mbps" >= 4800 THEN 'HIGH'
    WHEN "bandwidth_down_mbps" >= 3200 AND "bandwidth_up_mbps" >= 2400 THEN 'MEDIUM'
    ELSE 'LOW'
  END
)::"ConnectivityTier";
ALTER TABLE "device" ALTER COLUMN "connectivity_tier" SET DEFAULT 'LOW';

ALTER TABLE "cluster" ALTER COLUMN "connectivity_tier" DROP DEFAULT;
ALTER TABLE "cluster" ALTER COLUMN "connectivity_tier" TYPE "ConnectivityTier" USING (
  CASE "connectivity_tier"::text
    WHEN 'STANDARD' THEN 'LOW'
    WHEN 'HIGH_SPEED' THEN 'MEDIUM'
    WHEN 'ULTRA_HIGH_SPEED' THEN 'ULTRA_HIGH'
  END
)::"ConnectivityTier";
ALTER TABLE "cluster" ALTER COLUMN "connectivity_tier" SET DEFAULT 'LOW';

DROP TYPE "ConnectivityTier_old";

-- As in 20261201100500_placement_feed, unchanged.
create trigger device_placement_feed_update after update on device
  for each row when ((old.status, old.supplier_id, old.city, old.gpu_model_id, old.gpu_count, old.vram_gb, old.region, old.connectivity_tier,
                      old.security_tier, old.network, old.price_per_gpu_hour, old.verification_score_bps, old.runs_images)
                     is distinct from
                     (new.status, new.supplier_id, new.city, new.gpu_model_id, new.gpu_count, new.vram_gb, new.region, new.connectivity_tier,
                      new.security_tier, new.network, new.price_per_gpu_hour, new.verification_score_bps, new.runs_images))
  execute function gpumesh_notify_placement_device();

DELETE FROM "capacity_shape";
