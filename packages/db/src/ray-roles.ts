import type { Db } from "./client.ts";

/**
 * Which node of a RAY cluster is the Ray head and which join it as workers (Anyscale, io.net and
 * KubeRay all do it this way: one head, N−1 workers running `ray start --address=<head>`).
 *
 * The rule, applied whenever assignments are (re)sent: an ACTIVE allocation that has no role yet
 * becomes the head when the cluster has no ACTIVE head, the first of them by (created_at, id) (a gang
 * is inserted in one statement, so the id breaks the tie); every other one becomes a worker. A role is
 * written once and never changes, so:
 * - a re-sent assignment says what the first one said (agents dedupe on the allocation id anyway);
 * - when the head is lost, its replacement (a new allocation without a role) is the new head, and the
 *   workers stay workers: they only need the new head's address, not a new role.
 * The cluster row is locked while roles are written: two deploy jobs of one cluster never pick two heads.
 */
export interface RayRoles {
  /** The ACTIVE head, if the cluster has one. */
  headAllocationId: string | null;
  /** Role per ACTIVE allocation. */
  roles: Map<string, "HEAD" | "WORKER">;
}

export async function rayRoles(db: Db, clusterId: string): Promise<RayRoles> {
  const read = async (client: Pick<Db, "allocation">) =>
    client.allocation.findMany({ where: { clusterId, status: "ACTIVE" }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true, rayRole: true } });
  let active = await read(db);
  if (active.some((allocation) => allocation.rayRole === null)) {
    active = await db.$transaction(async (tx) => {
      await tx.$queryRaw`select id from cluster where id = ${clusterId}::uuid for update`;
      const locked = await read(tx);
      const unassigned = locked.filter((allocation) => allocation.rayRole === null);
      if (unassigned.length === 0) return locked;
      const head = locked.some((allocation) => allocation.rayRole === "HEAD") ? undefined : unassigned[0]!;
      if (head) await tx.allocation.update({ where: { id: head.id }, data: { rayRole: "HEAD" } });
      const workers = unassigned.filter((allocation) => allocation !== head).map((allocation) => allocation.id);
      if (workers.length) await tx.allocation.updateMany({ where: { id: { in: workers }, rayRole: null }, data: { rayRole: "WORKER" } });
      return read(tx);
    });
  }
  const roles = new Map(active.filter((allocation) => allocation.rayRole !== null).map((allocation) => [allocation.id, allocation.rayRole!] as const));
  return { headAllocationId: [...roles].find(([, role]) => role === "HEAD")?.[0] ?? null, roles };
}
