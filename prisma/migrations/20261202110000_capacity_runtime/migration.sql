-- Deployable-now by runtime (issue #10): a cluster that brings a container image can only go to devices
-- whose agents run images (device.runs_images), so the explorer counts its shapes separately.
-- capacity_shape.runtime: 'any' (every device, as before) or 'image' (only devices that run images).
-- The rollup rewrites the whole table every 30 s; existing rows become the 'any' rows.
ALTER TABLE "capacity_shape" ADD COLUMN "runtime" VARCHAR(8) NOT NULL DEFAULT 'any';
ALTER TABLE "capacity_shape" DROP CONSTRAINT "capacity_shape_pkey";
ALTER TABLE "capacity_shape" ADD CONSTRAINT "capacity_shape_pkey" PRIMARY KEY ("gpu_model_id", "gpu_count", "region", "connectivity_tier", "min_verification_bps", "runtime");
