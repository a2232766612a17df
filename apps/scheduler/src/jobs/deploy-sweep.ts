import { Prisma, type Db } from "@gpumesh/db";

/** The deploy sweep's read: clusters in a deployment state untouched since `before` (partial index cluster_deploy_due). */
export const deploySweepSql = {
  stuck: (before: Date, limit: number) => Prisma.sql`
    select id::text from cluster
     where status in ('PAID', 'MATCHING', 'DEPLOYING', 'DEGRADED', 'FAILED') and updated_at < ${before}
     order by updated_at limit ${limit}`,
};

/** Deployments (and degraded or failed clusters) nobody has touched since `before`, oldest first. */
export async function stuckDeployments(db: Db, before: Date, limit = 1_000): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>(deploySweepSql.stuck(before, limit));
  return rows.map((row) => row.id);
}
