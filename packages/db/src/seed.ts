import { GPU_MODELS, simulateNetwork } from "@gpumesh/core";
import type { Db } from "./client.ts";
import { insertInChunks } from "./chunks.ts";

/** Writes (or refreshes) the GPU model catalogue. Idempotent. */
export async function seedCatalogue(db: Db): Promise<void> {
  for (const model of GPU_MODELS) {
    const data = {
      name: model.name,
      vendor: model.vendor,
      architecture: model.architecture,
      vramGb: model.vramGb,
      performanceWeightBps: model.performanceWeightBps,
      hyperscalerPricePerHour: model.hyperscalerPricePerHour,
      referencePricePerHour: model.referencePricePerHour,
    };
    await db.gpuModel.upsert({ where: { id: model.id }, create: { id: model.id, ...data }, update: data });
  }
}

export interface SeedOptions {
  suppliers?: number;
  devices?: number;
  seed?: number;
  now?: Date;
  /**
   * The chain identity of seeded supplier `index` (0-based, the simulation's order): `pnpm dev` passes
   * dev keys that it registers on localnet. Without it a supplier gets the simulation's random
   * wallet and no on-chain record.
   */
  supplierIdentity?: (index: number) => SeededSupplierIdentity;
}

export interface SeededSupplierIdentity {
  walletAddress: string;
  onChainAddress?: string;
  payoutTokenAccount?: string;
}

/**
 * Seeds a simulated network on first run: returns false (and writes nothing) when devices exist,
 * so restarting `pnpm dev` keeps the data people made.
 */
export async function seedSimulatedNetwork(db: Db, options: SeedOptions = {}): Promise<boolean> {
  await seedCatalogue(db);
  if ((await db.device.count()) > 0) return false;
  const network = simulateNetwork({ suppliers: options.suppliers ?? 48, devices: options.devices ?? 360, seed: options.seed });
  const now = options.now ?? new Date();
  await db.$transaction(async (tx) => {
    const supplierIds = new Map<string, string>();
    for (const [index, supplier] of network.suppliers.entries()) {
      const { walletAddress, onChainAddress, payoutTokenAccount } = options.supplierIdentity?.(index) ?? { walletAddress: supplier.wallet };
      const account = await tx.account.create({ data: { walletAddress, displayName: supplier.name } });
      const created = await tx.supplier.create({ data: { accountId: account.id, name: supplier.name, network: supplier.network, onChainAddress, payoutTokenAccount } });
      supplierIds.set(supplier.key, created.id);
    }
    const devices = network.devices.map(({ supplierKey, heartbeatAgeSeconds, ...device }) => ({
      ...device,
      supplierId: supplierIds.get(supplierKey)!,
      lastHeartbeatAt: device.status === "REGISTERED" ? null : new Date(now.getTime() - heartbeatAgeSeconds * 1000),
      verifiedAt: device.verificationScoreBps > 0 ? new Date(now.getTime() - 3_600_000) : null,
      // Their agents are `gpumesh-agent simulate` (SimulatedRuntime, which takes renters' images) and
      // say so when they connect; said here too, so a seeded network takes workloads from the start.
      runsImages: true,
    }));
    // One statement per slice (chunks.ts): a big GPUMESH_SEED_DEVICES would make Prisma run INSERTs at once on this connection.
    await insertInChunks(devices, (data) => tx.device.createMany({ data }), { columns: 32 });
    // Prisma's default of 5 s is too short for thousands of devices on a busy laptop.
  }, { timeout: 300_000, maxWait: 30_000 });
  return true;
}
