import "server-only";
import type { ClusterStatus, PaymentToken } from "@gpumesh/db";
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
