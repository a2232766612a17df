-- chain_event.seq: the order in which the indexer applied events. The indexer applies a program's
-- transactions oldest first, one database transaction each, so seq is chain order; (slot, event_index)
-- cannot order two transactions that landed in the same slot. Rows that exist already are numbered in
-- (slot, signature, event_index) order, the best order they can have.
ALTER TABLE "chain_event" ADD COLUMN "seq" BIGINT;
CREATE SEQUENCE "chain_event_seq_seq" OWNED BY "chain_event"."seq";
UPDATE "chain_event" SET "seq" = n.seq FROM (
  SELECT "signature", "event_index", nextval('"chain_event_seq_seq"') AS seq
  FROM (SELECT "signature", "event_index" FROM "chain_event" ORDER BY "slot", "signature", "event_index") ordered
) n WHERE "chain_event"."signature" = n."signature" AND "chain_event"."event_index" = n."event_index";
ALTER TABLE "chain_event" ALTER COLUMN "seq" SET DEFAULT nextval('"chain_event_seq_seq"');
ALTER TABLE "chain_event" ALTER COLUMN "seq" SET NOT NULL;
CREATE UNIQUE INDEX "chain_event_seq_key" ON "chain_event"("seq");
