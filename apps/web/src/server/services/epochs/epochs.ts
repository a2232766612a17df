import "server-only";
import { z } from "zod";
import { notFound } from "../../api/errors.ts";
import { pageOf, readCursor, type PageOf, type PageQuery } from "../../api/pagination.ts";
import { db } from "../../db.ts";

export interface EpochView {
  epoch: number;
  hourStart: Date;
  emission: bigint;
  pool: bigint;
  cumulativeTotal: bigint;
  merkleRoot: string | null;
  status: string;
  postedTxSignature: string | null;
  postedAt: Date | null;
}

const fields = { epoch: true, hourStart: true, emission: true, cumulativeTotal: true, merkleRoot: true, status: true, postedTxSignature: true, postedAt: true } as const;
type Row = { epoch: number; hourStart: Date; emission: bigint; cumulativeTotal: bigint; merkleRoot: string | null; status: string; postedTxSignature: string | null; postedAt: Date | null };

// The pool an epoch shared is what it added to the cumulative total (the previous epoch's total is the
// base), so it is derived from the rows rather than read from a column reward storage may reshape.
const withPool = (row: Row, previous: Row | undefined): EpochView => ({ ...row, pool: row.cumulativeTotal - (previous?.cumulativeTotal ?? 0n) });

const EpochCursor = z.object({ before: z.number().int() });

/** Reward epochs, newest first, one page at a time. */
export async function listEpochs(query: PageQuery): Promise<PageOf<EpochView>> {
  const after = readCursor(query.cursor, EpochCursor);
  // limit + 1 to know whether there is a next page, + 1 more for the last item's predecessor (its pool).
  const rows: Row[] = await db.rewardEpoch.findMany({ where: after ? { epoch: { lt: after.before } } : {}, orderBy: { epoch: "desc" }, take: query.limit + 2, select: fields });
  const views = rows.slice(0, query.limit + 1).map((row, i) => withPool(row, rows[i + 1]));
  return pageOf(views, query.limit, (last) => ({ before: last.epoch }));
}

/** One epoch, or 404. */
export async function getEpoch(epoch: number): Promise<EpochView> {
  const [row, previous] = await db.rewardEpoch.findMany({ where: { epoch: { lte: epoch } }, orderBy: { epoch: "desc" }, take: 2, select: fields });
  if (!row || row.epoch !== epoch) throw notFound(`epoch ${epoch}`);
  return withPool(row, previous);
}
