-- The explorer's devices table (issue #12) pages with keysets, never OFFSET and never a COUNT of the
-- whole table: each sort order is one btree walked from the cursor, so page n costs what page 1
-- costs at 100,000+ devices. The id is the tie-breaker that makes every key unique (equal prices or
-- equal creation instants never repeat or skip a row across pages). Newest first walks
-- (created_at, id) backwards; a btree scans both ways, so one index serves each order.
CREATE INDEX "device_created_at_id_idx" ON "device"("created_at", "id");
CREATE INDEX "device_price_per_gpu_hour_id_idx" ON "device"("price_per_gpu_hour", "id");
CREATE INDEX "device_gpu_count_id_idx" ON "device"("gpu_count", "id");
-- A supplier's page lists its devices newest first: (supplier_id, created_at, id) serves it in order
-- (the existing (supplier_id) index would read and sort all of a large supplier's devices per page).
CREATE INDEX "device_supplier_id_created_at_id_idx" ON "device"("supplier_id", "created_at", "id");
