-- Device stakes mirrored from the chain (issue #11): the indexer applies DeviceStaked,
-- DeviceUnstakeRequested, DeviceStakeWithdrawn and DeviceStakeSlashed to one row per device, so the
-- rewards epoch can join on it instead of reading a million stake accounts over RPC each hour. No
-- foreign key to device: the row mirrors what the chain says, and the chain may name a device this
-- database does not hold (another deployment's, or one deleted since); such rows are simply never joined.
CREATE TYPE "DeviceStakeStatus" AS ENUM ('STAKED', 'UNSTAKING', 'WITHDRAWN');

CREATE TABLE "device_stake" (
    "device_id" UUID NOT NULL,
    "stake_address" VARCHAR(44) NOT NULL,
    "staker" VARCHAR(44) NOT NULL,
    "weight_bps" INTEGER NOT NULL,
    "amount" BIGINT NOT NULL,
    "required" BIGINT NOT NULL,
    "status" "DeviceStakeStatus" NOT NULL,
    "unstake_requested_at" TIMESTAMPTZ(3),
    "withdrawable_at" TIMESTAMPTZ(3),
    "slashed_total" BIGINT NOT NULL DEFAULT 0,
    "last_signature" VARCHAR(88) NOT NULL,
    "last_slot" BIGINT NOT NULL,
    "last_event_seq" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_stake_pkey" PRIMARY KEY ("device_id")
);

CREATE INDEX "device_stake_staker_idx" ON "device_stake"("staker");
