import "server-only";
import type { ClusterStatus, PaymentToken } from "@gpumesh/db";
import { z } from "zod";
import { pageOf, readCursor, type PageOf, type PageQuery } from "../../api/pagination.ts";
import { db } from "../../db.ts";

export interface ClusterListItem {
  id: string;
  name: string;
  status: ClusterStatus;
  gpuCount: number;
  gpuModelIds: string[];
  regions: string[];
  paymentToken: PaymentToken;
  depositAmount: bigint;
  createdAt: Date;
  endsAt: Date | null;
}

/** The account's clusters, newest first (quotes that were never paid are left out). */
export async function listClusters(accountId: string, take = 100): Promise<ClusterListItem[]> {
  return db.cluster.findMany({
    where: { renterId: accountId, NOT: { status: "REQUESTED" } },
    orderBy: { createdAt: "desc" },
    take,
    select: { id: true, name: true, status: true, gpuCount: true, gpuModelIds: true, regions: true, paymentToken: true, depositAmount: true, createdAt: true, endsAt: true },
  });
}

const ClusterCursor = z.object({ at: z.iso.datetime(), id: z.uuid() });
const listFields = { id: true, name: true, status: true, gpuCount: true, gpuModelIds: true, regions: true, paymentToken: true, depositAmount: true, createdAt: true, endsAt: true } as const;

/** The same list one page at a time (GET /api/v1/clusters): newest first, keyed on (created, id). */
export async function listClustersPage(accountId: string, query: PageQuery): Promise<PageOf<ClusterListItem>> {
  const after = readCursor(query.cursor, ClusterCursor);
  const at = after ? new Date(after.at) : null;
  const rows = await db.cluster.findMany({
    where: {
      renterId: accountId,
      NOT: { status: "REQUESTED" },
      ...(after && at ? { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
    select: listFields,
  });
  return pageOf(rows, query.limit, (last) => ({ at: last.createdAt.toISOString(), id: last.id }));
}
