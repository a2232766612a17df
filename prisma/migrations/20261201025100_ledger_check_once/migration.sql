-- The balanced-journal check runs once per journal per transaction (issue #13). Before, a deferred
-- row trigger on every ledger_entry re-summed the whole journal at COMMIT, so a journal of n entries
-- cost n sums of n rows: O(n²). Now the inserts only queue the journal's id (statement-level triggers
-- with transition tables: one queue row per journal, however many entries), and one deferred
-- constraint trigger per queued journal sums it once at COMMIT. Every rule is unchanged: at least two
-- entries, summing to zero, all in the journal's token and in accounts of that token.

DROP TRIGGER "ledger_entry_balanced" ON "ledger_entry";
DROP TRIGGER "journal_balanced" ON "journal";
DROP FUNCTION "ledger_check_journal"();

-- Journals to check at this transaction's COMMIT. Rows live only inside the transaction that inserts
-- them (the check deletes its row), so the table is empty between transactions; the primary key makes
-- a second statement touching the same journal queue nothing more. Unlogged: never needed after a crash.
CREATE UNLOGGED TABLE "ledger_journal_check" ("journal_id" uuid PRIMARY KEY);

CREATE FUNCTION "ledger_queue_journal_check"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'journal' THEN
    INSERT INTO "ledger_journal_check" ("journal_id") SELECT DISTINCT "id" FROM new_rows ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO "ledger_journal_check" ("journal_id") SELECT DISTINCT "journal_id" FROM new_rows ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "journal_queue_check" AFTER INSERT ON "journal"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_queue_journal_check"();
CREATE TRIGGER "ledger_entry_queue_check" AFTER INSERT ON "ledger_entry"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_queue_journal_check"();

CREATE FUNCTION "ledger_check_journal"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  jid uuid := NEW."journal_id";
  jtoken "PaymentToken";
  entry_count integer;
  total numeric;
  mismatched integer;
BEGIN
  -- Dequeue first: should this transaction add entries to the same journal after an explicit
  -- SET CONSTRAINTS ... IMMEDIATE checked it, they queue it again and it is checked again at COMMIT.
  DELETE FROM "ledger_journal_check" WHERE "journal_id" = jid;
  SELECT "token" INTO jtoken FROM "journal" WHERE "id" = jid;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT count(*), COALESCE(sum(e."amount"::numeric), 0),
         count(*) FILTER (WHERE e."token" <> jtoken OR a."token" <> jtoken)
    INTO entry_count, total, mismatched
    FROM "ledger_entry" e JOIN "ledger_account" a ON a."id" = e."ledger_account_id"
   WHERE e."journal_id" = jid;
  IF entry_count < 2 THEN
    RAISE EXCEPTION 'journal % has % ledger entries; a journal needs at least two', jid, entry_count
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  IF total <> 0 THEN
    RAISE EXCEPTION 'journal % is unbalanced: entries sum to % (must be 0)', jid, total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  IF mismatched > 0 THEN
    RAISE EXCEPTION 'journal % mixes tokens: % entries differ from the journal token %', jid, mismatched, jtoken
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journal_balanced';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER "ledger_journal_balanced"
  AFTER INSERT ON "ledger_journal_check"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "ledger_check_journal"();
