-- Reconcile sweep by work due (issue #13): the sweep used to anti-join every closed lease in history
-- against lease_reconciliation, a cost that grows with every lease ever closed. Now a closed lease
-- carries reconciled_at, and a partial index holds only the closed leases not reconciled yet, oldest
-- close first: the sweep reads its first rows and nothing else.
ALTER TABLE "cluster" ADD COLUMN "reconciled_at" TIMESTAMPTZ(3);

-- Set by the database when the verdict is first recorded, so no code path can record one and forget
-- to take the lease off the sweep's list. A later re-check (upsert) keeps the first time.
CREATE FUNCTION "cluster_mark_reconciled"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "cluster" SET "reconciled_at" = NEW."checked_at" WHERE "id" = NEW."cluster_id" AND "reconciled_at" IS NULL;
  RETURN NULL;
END
$$;
CREATE TRIGGER "cluster_mark_reconciled_on_verdict" AFTER INSERT ON "lease_reconciliation"
  FOR EACH ROW EXECUTE FUNCTION "cluster_mark_reconciled"();

UPDATE "cluster" c SET "reconciled_at" = r."checked_at" FROM "lease_reconciliation" r WHERE r."cluster_id" = c."id";

CREATE INDEX "cluster_reconcile_due" ON "cluster"("chain_closed_at")
  WHERE "lease_id" IS NOT NULL AND "chain_closed_at" IS NOT NULL AND "reconciled_at" IS NULL;
