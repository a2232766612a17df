-- One-time join tokens for `gpumesh-agent join`: only the SHA-256 is stored; a used token names its device.
CREATE TABLE "device_join_token" (
    "id" UUID NOT NULL,
    "supplier_id" UUID NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "region" VARCHAR(32) NOT NULL,
    "network" "SupplierNetwork" NOT NULL DEFAULT 'GPUMESH',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "device_id" UUID,
    CONSTRAINT "device_join_token_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "device_join_token_expiry_after_creation" CHECK ("expires_at" > "created_at"),
    -- A token names a device only once used (the device may later be removed: SET NULL, still used).
    CONSTRAINT "device_join_token_device_when_used" CHECK ("device_id" IS NULL OR "used_at" IS NOT NULL)
);
CREATE UNIQUE INDEX "device_join_token_token_hash_key" ON "device_join_token"("token_hash");
CREATE UNIQUE INDEX "device_join_token_device_id_key" ON "device_join_token"("device_id");
CREATE INDEX "device_join_token_supplier_id_created_at_idx" ON "device_join_token"("supplier_id", "created_at");
ALTER TABLE "device_join_token" ADD CONSTRAINT "device_join_token_supplier_id_fkey" FOREIGN KEY ("supplier_id") REFERENCES "supplier"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "device_join_token" ADD CONSTRAINT "device_join_token_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE SET NULL ON UPDATE CASCADE;
