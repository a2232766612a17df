import { devDeviceKey } from "@gpumesh/agent-protocol";
import type { Db } from "@gpumesh/db";

/**
 * `pnpm dev`'s seeded devices are run by `gpumesh-agent simulate`, which connects with the published
 * dev keys devDeviceKey(0…n-1). Seeded devices without a key (a fresh seed, or a database seeded
 * before agents existed) get the next free dev keys, in creation order; returns how many dev keys are
 * in use, which is the fleet size to simulate. Devices joined by a real agent keep their own keys, and
 * once removed (key revoked) they stay keyless.
 */
export async function assignDevFleetKeys(db: Db): Promise<number> {
  const total = await db.device.count();
  const devKeys = Array.from({ length: total }, (_, index) => devDeviceKey(index).publicKey);
  const used = await db.device.count({ where: { agentPublicKey: { in: devKeys } } });
  // Seeded devices only: a device that joined with a token and was removed keeps no key (never a dev key).
  const missing = await db.device.findMany({ where: { agentPublicKey: null, joinToken: { is: null } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true } });
  // Chunked, not one batch transaction: hundreds of updates in one batch outlive Prisma's 5 s
  // transaction timeout on a loaded machine, and `pnpm dev` then fails to start. Each chunk is
  // atomic; an interrupted run resumes at the next start (keys are handed out in order from `used`).
  for (let start = 0; start < missing.length; start += 50) {
    const chunk = missing.slice(start, start + 50);
    await db.$transaction(chunk.map((device, offset) => db.device.update({ where: { id: device.id }, data: { agentPublicKey: devDeviceKey(used + start + offset).publicKey } })));
  }
  return used + missing.length;
}
