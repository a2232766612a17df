-- Whether a device's agent runs renters' container images (issue #10): the Docker runtime does, the
-- process runtime refuses every assignment that brings a workload. The agent says which when it
-- connects and the gateway records it here; placement gives clusters with a workload only devices
-- that run images. Nothing recorded the runtime before, so existing devices start at false (they cannot
-- be trusted with an image) until their agent next connects and says otherwise.
ALTER TABLE "device" ADD COLUMN "runs_images" BOOLEAN NOT NULL DEFAULT false;
