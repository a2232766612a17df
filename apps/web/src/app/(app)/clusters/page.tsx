import { formatAmount } from "@gpumesh/core";
import type { Metadata } from "next";
import { requireSession } from "@/server/auth/session.ts";
import { listClusters } from "@/server/services/clusters/list-clusters.ts";

export const metadata: Metadata = { title: "Your clusters" };
export const dynamic = "force-dynamic";

export default async function ClustersPage() {
  const session = await requireSession();
  const clusters = await listClusters(session.accountId);
  return (
    <>
      <h1>Your clusters</h1>
      <p className="subtitle">Every cluster you paid for, what it runs on and what it costs.</p>
      {clusters.length === 0 ? (
        <div className="panel empty" data-testid="no-clusters">
          <h2>No clusters yet</h2>
          <p>Configure GPUs, see a quote with every fee, and pay from your wallet.</p>
          <a className="button-link" href="/deploy">Deploy a cluster</a>
        </div>
      ) : (
        <div className="panel" tabIndex={0} role="region" aria-label="Clusters">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">GPUs</th>
                <th scope="col">Regions</th>
                <th scope="col" className="num">Paid</th>
                <th scope="col">Ends</th>
              </tr>
            </thead>
            <tbody>
              {clusters.map((cluster) => (
                <tr key={cluster.id} data-testid="cluster-row">
                  <td><a href={`/clusters/${cluster.id}`}>{cluster.name}</a></td>
                  <td><span className={`status status-${cluster.status.toLowerCase()}`}>{cluster.status.toLowerCase()}</span></td>
                  <td className="num">{cluster.gpuCount} × {cluster.gpuModelIds.join(" / ")}</td>
                  <td>{cluster.regions.join(", ")}</td>
                  <td className="num">{formatAmount(cluster.depositAmount, cluster.paymentToken)} {cluster.paymentToken}</td>
                  <td>{cluster.endsAt ? cluster.endsAt.toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
