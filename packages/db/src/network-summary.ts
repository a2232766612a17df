import type { Db } from "./client.ts";

export interface NetworkSummary {
  suppliers: number;
  devices: { total: number; online: number; hired: number };
  gpus: { total: number; online: number; hired: number };
  byModel: { gpuModelId: string; name: string; devices: number; gpus: number; onlineGpus: number; minPricePerGpuHour: bigint | null }[];
  byRegion: { region: string; devices: number; gpus: number; onlineGpus: number }[];
}

/** The numbers the explorer's front page shows, straight from Postgres. */
export async function networkSummary(db: Db, now = new Date()): Promise<NetworkSummary> {
  const [suppliers, devices, models, hired] = await Promise.all([
    db.supplier.count(),
    db.device.groupBy({ by: ["gpuModelId", "region", "status"], _count: { _all: true }, _sum: { gpuCount: true }, _min: { pricePerGpuHour: true } }),
    db.gpuModel.findMany({ orderBy: { performanceWeightBps: "desc" } }),
    db.allocation.findMany({
      // Held quotes (REQUESTED clusters holding devices while the renter pays) are not hired yet.
      where: { status: "ACTIVE", startsAt: { lte: now }, endsAt: { gt: now }, cluster: { status: { not: "REQUESTED" } } },
      select: { gpuCount: true },
    }),
  ]);
  const totals = { total: 0, online: 0 };
  const gpus = { total: 0, online: 0 };
  const byModel = new Map<string, { devices: number; gpus: number; onlineGpus: number; minPricePerGpuHour: bigint | null }>();
  const byRegion = new Map<string, { devices: number; gpus: number; onlineGpus: number }>();
  for (const group of devices) {
    const count = group._count._all;
    const gpuSum = group._sum.gpuCount ?? 0;
    const online = group.status === "ONLINE";
    totals.total += count;
    gpus.total += gpuSum;
    if (online) {
      totals.online += count;
      gpus.online += gpuSum;
    }
    if (group.gpuModelId) {
      const entry = byModel.get(group.gpuModelId) ?? { devices: 0, gpus: 0, onlineGpus: 0, minPricePerGpuHour: null };
      entry.devices += count;
      entry.gpus += gpuSum;
      if (online) {
        entry.onlineGpus += gpuSum;
        const price = group._min.pricePerGpuHour;
        if (price !== null && (entry.minPricePerGpuHour === null || price < entry.minPricePerGpuHour)) entry.minPricePerGpuHour = price;
      }
      byModel.set(group.gpuModelId, entry);
    }
    const region = byRegion.get(group.region) ?? { devices: 0, gpus: 0, onlineGpus: 0 };
    region.devices += count;
    region.gpus += gpuSum;
    if (online) region.onlineGpus += gpuSum;
    byRegion.set(group.region, region);
  }
  return {
    suppliers,
    devices: { ...totals, hired: hired.length },
    gpus: { ...gpus, hired: hired.reduce((sum, allocation) => sum + allocation.gpuCount, 0) },
    byModel: models
      .filter((model) => byModel.has(model.id))
      .map((model) => ({ gpuModelId: model.id, name: model.name, ...byModel.get(model.id)! })),
    byRegion: [...byRegion].map(([region, entry]) => ({ region, ...entry })).sort((a, b) => b.gpus - a.gpus),
  };
}
