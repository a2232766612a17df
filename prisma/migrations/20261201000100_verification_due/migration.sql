-- The verify sweep reads only the devices that are due (issue #11: O(devices due), not O(devices)):
-- each device carries when its next proof-of-work challenge is due, indexed for the eligible states.
-- New devices are due at once (default now()); existing ones too.
ALTER TABLE "device" ADD COLUMN "next_challenge_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX "device_challenge_due" ON "device"("next_challenge_at") WHERE "status" IN ('ONLINE', 'REGISTERED');
-- Pruning closed challenges past their retention reads the oldest first.
CREATE INDEX "verification_challenge_issued_at_idx" ON "verification_challenge"("issued_at");
-- "Has this device a challenge open?" asked per due device: constant time instead of walking its history.
CREATE INDEX "verification_challenge_pending" ON "verification_challenge"("device_id") WHERE "status" = 'PENDING';
