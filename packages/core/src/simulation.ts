import { base58 } from "@scure/base";
import { GPU_MODELS, type GpuModelSpec } from "./catalogue/gpu-models.ts";
import { REGIONS, type Region } from "./catalogue/regions.ts";
import { SeededRandom } from "./random.ts";
import { connectivityTierFor, type ConnectivityTier, type DeviceStatus, type SecurityTier, type SupplierNetwork } from "./schemas/enums.ts";

/**
 * A realistic simulated network for development, demos and load tests: datacenter suppliers with
 * 8-GPU H100/A100/L40S servers on fast, audited links, and many smaller suppliers with consumer cards
 * on home or office connections, spread across every region.
 */
export interface SimulatedSupplier {
  key: string;
  wallet: string;
  name: string;
  network: SupplierNetwork;
  kind: "datacenter" | "prosumer";
  region: string;
}

export interface SimulatedDevice {
  supplierKey: string;
  name: string;
  gpuModelId: string;
  gpuCount: number;
  vramGb: number;
  cpuModel: string;
  cpuCores: number;
  ramGb: number;
  diskGb: number;
  region: string;
  country: string;
  city: string;
  bandwidthUpMbps: number;
  bandwidthDownMbps: number;
  securityTier: SecurityTier;
  connectivityTier: ConnectivityTier;
  network: SupplierNetwork;
  status: DeviceStatus;
  pricePerGpuHour: bigint;
  verificationScoreBps: number;
  /** Seconds since the last heartbeat (online devices beat every few seconds). */
  heartbeatAgeSeconds: number;
}

export interface SimulatedNetwork {
  suppliers: SimulatedSupplier[];
  devices: SimulatedDevice[];
}

const DATACENTER_MODELS = new Set(["h100-80gb", "a100-80gb", "a100-40gb", "l40s"]);
const NETWORKS: readonly SupplierNetwork[] = ["GPUMESH", "GPUMESH", "GPUMESH", "RENDER", "FILECOIN", "AETHIR"];
const DATACENTER_CPUS = ["AMD EPYC 9654 (96-core)", "Intel Xeon Platinum 8480+", "AMD EPYC 7763 (64-core)"];
const PROSUMER_CPUS = ["AMD Ryzen 9 7950X", "Intel Core i9-13900K", "AMD Ryzen 9 5950X", "AMD Threadripper 3970X"];
const NAMES = ["Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Helix", "Ion", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quasar", "Radiant", "Summit", "Tundra", "Umbra", "Vertex", "Willow", "Xenon", "Yukon", "Zephyr"];

export function simulateNetwork(options: { suppliers: number; devices: number; seed?: number }): SimulatedNetwork {
  const random = new SeededRandom(options.seed ?? 20_261_125);
  const suppliers: SimulatedSupplier[] = [];
  for (let i = 0; i < options.suppliers; i++) {
    // Every region gets suppliers first (round-robin), then the rest land where capacity usually is.
    const region: Region = i < REGIONS.length ? REGIONS[i]! : random.weighted(REGIONS, (r) => (r.continent === "North America" || r.continent === "Europe" ? 3 : 1));
    const kind = random.next() < 0.35 ? "datacenter" : "prosumer";
    const name = `${NAMES[i % NAMES.length]} ${kind === "datacenter" ? "Compute" : "Labs"}${i >= NAMES.length ? ` ${Math.floor(i / NAMES.length) + 1}` : ""}`;
    suppliers.push({ key: `supplier-${i}`, wallet: base58.encode(random.bytes(32)), name, network: random.pick(NETWORKS), kind, region: region.id });
  }

  const devices: SimulatedDevice[] = [];
  for (let i = 0; i < options.devices; i++) {
    // The first devices give every supplier at least one machine.
    const supplier = i < suppliers.length ? suppliers[i]! : random.weighted(suppliers, (s) => (s.kind === "datacenter" ? 3 : 1));
    const region = REGIONS.find((r) => r.id === supplier.region)!;
    const models = GPU_MODELS.filter((m) => DATACENTER_MODELS.has(m.id) === (supplier.kind === "datacenter"));
    const model: GpuModelSpec = random.weighted(models, (m) => m.seedShare);
    const site = region.sites[Number.parseInt(supplier.key.split("-")[1]!, 10) % region.sites.length]!;
    const datacenter = supplier.kind === "datacenter";
    const gpuCount = datacenter ? random.weighted([8, 8, 8, 4], () => 1) : random.weighted([1, 1, 2, 4], () => 1);
    // Mbps. Datacenter links are symmetric: 10 Gbps is HIGH, 25 and 100 Gbps ULTRA_HIGH. Home and office
    // links are often asymmetric: 5 Gbps is MEDIUM when its upload keeps up, the rest LOW (500 Mbps
    // is below LOW's 100 MB/s download, and still LOW: the floor), so the fleet has all four tiers.
    const bandwidth = datacenter ? random.pick([10_000, 25_000, 100_000]) : random.pick([500, 1_000, 2_500, 5_000]);
    const upload = datacenter ? bandwidth : Math.round(bandwidth * random.pick([0.2, 0.5, 1]));
    const statusRoll = random.next();
    const status: DeviceStatus = statusRoll < 0.86 ? "ONLINE" : statusRoll < 0.95 ? "OFFLINE" : "REGISTERED";
    const priceFactorPct = BigInt(random.int(80, 125));
    devices.push({
      supplierKey: supplier.key,
      name: `${supplier.name.split(" ")[0]!.toLowerCase()}-${model.id}-${String(i).padStart(4, "0")}`,
      gpuModelId: model.id,
      gpuCount,
      vramGb: model.vramGb,
      cpuModel: random.pick(datacenter ? DATACENTER_CPUS : PROSUMER_CPUS),
      cpuCores: datacenter ? random.pick([64, 96, 128]) : random.pick([16, 24, 32]),
      ramGb: datacenter ? random.pick([1024, 2048]) : random.pick([64, 128, 256]),
      diskGb: datacenter ? random.pick([7680, 15360, 30720]) : random.pick([1000, 2000, 4000]),
      region: region.id,
      country: site.country,
      city: site.city,
      bandwidthUpMbps: upload,
      bandwidthDownMbps: bandwidth,
      securityTier: datacenter ? (random.next() < 0.7 ? "COMPLIANCE" : "ENCRYPTED") : random.next() < 0.3 ? "ENCRYPTED" : "STANDARD",
      connectivityTier: connectivityTierFor({ bandwidthDownMbps: bandwidth, bandwidthUpMbps: upload }),
      network: supplier.network,
      status,
      // Rounded to a cent per GPU-hour, as suppliers set prices.
      pricePerGpuHour: ((model.referencePricePerHour * priceFactorPct) / 100n / 10_000n) * 10_000n,
      verificationScoreBps: status === "REGISTERED" ? 0 : random.int(6_500, 10_000),
      heartbeatAgeSeconds: status === "ONLINE" ? random.int(0, 20) : random.int(600, 86_400),
    });
  }
  return { suppliers, devices };
}
