import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ApiError } from "@/server/api/errors.ts";
import { requireSession } from "@/server/auth/session.ts";
import { toJson } from "@/server/json.ts";
import { getCluster } from "@/server/services/clusters/get-cluster.ts";
import { ClusterView, type ClusterState } from "./_components/cluster-view.tsx";

export const metadata: Metadata = { title: "Cluster" };
export const dynamic = "force-dynamic";

export default async function ClusterPage({ params }: { params: Promise<{ clusterId: string }> }) {
  const { clusterId } = await params;
  const session = await requireSession();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clusterId)) notFound();
  let cluster;
  try {
    cluster = await getCluster(session.accountId, clusterId);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
  return <ClusterView initial={JSON.parse(toJson(cluster)) as ClusterState} sessionWallet={session.walletAddress} />;
}
