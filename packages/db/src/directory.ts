import type { ConnectivityTier } from "@gpumesh/core";
import { Prisma } from "./generated/prisma/client.ts";
import type { Db } from "./client.ts";

/**
 * The explorer's public directory of devices: filters, search and keyset pages over `device`.
 *
 * Why keysets: the devices table must stay fast at 100,000+ devices. OFFSET reads and throws away
 * every row before the page, and a COUNT(*) of the table per request reads all of it; a keyset walks
 * one btree from the cursor (migration 20261201024700_device_directory: one index per sort order,
 * the id as tie-breaker) and reads only the page. Rows inserted while someone pages never shift the
 * pages after the cursor, so nobody sees a device twice or misses one that was already there.
 *
 * Only public fields leave this module: never the agent key, join tokens, endpoints or accounts.
 */

export const DEVICE_SORTS = ["newest", "price", "gpus"] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

/**
 * Verification levels from the proof-of-work score (core `nextVerificationScore`): `unverified`
 * under 5,000 bps (the matcher's default floor: not rented out), `verified` from 5,000, `trusted`
 * from 9,000 (passed several checks in a row with no recent failure). As a filter a level is a
 * minimum (verified includes trusted), except `unverified`, which is "below the floor".
 */
export const VERIFICATION_LEVELS = ["unverified", "verified", "trusted"] as const;
export type VerificationLevel = (typeof VERIFICATION_LEVELS)[number];
export const VERIFIED_FROM_BPS = 5_000;
export const TRUSTED_FROM_BPS = 9_000;

export function verificationLevel(scoreBps: number): VerificationLevel {
  if (scoreBps >= TRUSTED_FROM_BPS) return "trusted";
  if (scoreBps >= VERIFIED_FROM_BPS) return "verified";
  return "unverified";
}

export type DirectoryDeviceStatus = "REGISTERED" | "ONLINE" | "OFFLINE" | "SUSPENDED";
export type DirectoryNetwork = "GPUMESH" | "RENDER" | "FILECOIN" | "AETHIR";

export interface DeviceDirectoryQuery {
  /** A device or supplier id (exact), a supplier's wallet or on-chain address (exact), or part of a device or supplier name. */
  q?: string;
  gpuModelId?: string;
  region?: string;
  status?: DirectoryDeviceStatus;
  network?: DirectoryNetwork;
  verification?: VerificationLevel;
  supplierId?: string;
  sort?: DeviceSort;
  /** Opaque, from a previous page's `nextCursor` (same sort). */
  cursor?: string;
  limit?: number;
}

export interface DirectoryDevice {
  id: string;
  name: string;
  status: DirectoryDeviceStatus;
  gpuModelId: string | null;
  gpuCount: number;
  vramGb: number;
  cpuCores: number;
  ramGb: number;
  region: string;
  country: string;
  city: string;
  network: DirectoryNetwork;
  /** From the bandwidth measured at join (core connectivityTierFor). */
  connectivityTier: ConnectivityTier;
  /** USDC base units per GPU-hour (the supplier's ask). */
  pricePerGpuHour: bigint;
  verificationScoreBps: number;
  verificationLevel: VerificationLevel;
  lastHeartbeatAt: Date | null;
  createdAt: Date;
  supplier: { id: string; name: string };
}

export interface DeviceDirectoryPage {
  devices: DirectoryDevice[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** How many devices match, counted up to MATCH_COUNT_CAP only (`atLeast` when there are more). */
  matches: { count: number; atLeast: boolean };
}

/** Matches are counted up to this many and shown as "1,000+" beyond: never a count of the whole table. */
export const MATCH_COUNT_CAP = 1_000;
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** A cursor that does not decode, or belongs to another sort order. */
export class InvalidCursorError extends Error {
  constructor() {
    super("not a cursor from this listing");
    this.name = "InvalidCursorError";
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE58_ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

// ---- cursors: base64url of [sort or listing, key, id]; the key is the sort column as text ----

export function encodeCursor(kind: string, key: string, id: string): string {
  return Buffer.from(JSON.stringify([kind, key, id])).toString("base64url");
}

export function decodeCursor(kind: string, cursor: string): { key: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== kind || typeof parsed[1] !== "string" || typeof parsed[2] !== "string" || !UUID.test(parsed[2])) throw new InvalidCursorError();
  return { key: parsed[1], id: parsed[2] };
}

interface SortSpec {
  order: Prisma.Sql;
  /** The keyset predicate "after this cursor" in the sort's direction. */
  after(key: string, id: string): Prisma.Sql;
  keyOf(row: DeviceRow): string;
}

function isoKey(key: string): Date {
  const date = new Date(key);
  if (Number.isNaN(date.getTime())) throw new InvalidCursorError();
  return date;
}

function integerKey(key: string): bigint {
  if (!/^\d{1,19}$/.test(key)) throw new InvalidCursorError();
  return BigInt(key);
}

const SORTS: Record<DeviceSort, SortSpec> = {
  newest: {
    order: Prisma.sql`d.created_at desc, d.id desc`,
    after: (key, id) => Prisma.sql`(d.created_at, d.id) < (${isoKey(key)}::timestamptz, ${id}::uuid)`,
    keyOf: (row) => row.created_at.toISOString(),
  },
  price: {
    order: Prisma.sql`d.price_per_gpu_hour asc, d.id asc`,
    after: (key, id) => Prisma.sql`(d.price_per_gpu_hour, d.id) > (${integerKey(key)}::bigint, ${id}::uuid)`,
    keyOf: (row) => row.price_per_gpu_hour.toString(),
  },
  gpus: {
    order: Prisma.sql`d.gpu_count desc, d.id desc`,
    after: (key, id) => Prisma.sql`(d.gpu_count, d.id) < (${Number(integerKey(key))}::int, ${id}::uuid)`,
    keyOf: (row) => String(row.gpu_count),
  },
};

interface DeviceRow {
  id: string;
  name: string;
  status: DirectoryDeviceStatus;
  gpu_model_id: string | null;
  gpu_count: number;
  vram_gb: number;
  cpu_cores: number;
  ram_gb: number;
  region: string;
  country: string;
  city: string;
  network: DirectoryNetwork;
  connectivity_tier: ConnectivityTier;
  price_per_gpu_hour: bigint;
  verification_score_bps: number;
  last_heartbeat_at: Date | null;
  created_at: Date;
  supplier_id: string;
  supplier_name: string;
}

/** `%`, `_` and `\` taken literally inside an ILIKE pattern. */
const likeContains = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function filters(query: DeviceDirectoryQuery): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  const q = query.q?.trim();
  if (q) {
    if (UUID.test(q)) where.push(Prisma.sql`(d.id = ${q}::uuid or d.supplier_id = ${q}::uuid)`);
    else if (BASE58_ADDRESS.test(q))
      where.push(Prisma.sql`(s.on_chain_address = ${q} or s.account_id = (select a.id from account a where a.wallet_address = ${q}) or d.name ilike ${likeContains(q)} or s.name ilike ${likeContains(q)})`);
    else where.push(Prisma.sql`(d.name ilike ${likeContains(q)} or s.name ilike ${likeContains(q)})`);
  }
  if (query.gpuModelId) where.push(Prisma.sql`d.gpu_model_id = ${query.gpuModelId}`);
  if (query.region) where.push(Prisma.sql`d.region = ${query.region}`);
  if (query.status) where.push(Prisma.sql`d.status = ${query.status}::"DeviceStatus"`);
  if (query.network) where.push(Prisma.sql`d.network = ${query.network}::"SupplierNetwork"`);
  if (query.supplierId) where.push(Prisma.sql`d.supplier_id = ${query.supplierId}::uuid`);
  if (query.verification === "unverified") where.push(Prisma.sql`d.verification_score_bps < ${VERIFIED_FROM_BPS}`);
  if (query.verification === "verified") where.push(Prisma.sql`d.verification_score_bps >= ${VERIFIED_FROM_BPS}`);
  if (query.verification === "trusted") where.push(Prisma.sql`d.verification_score_bps >= ${TRUSTED_FROM_BPS}`);
  return where;
}

const whereClause = (parts: Prisma.Sql[]) => (parts.length ? Prisma.sql`where ${Prisma.join(parts, " and ")}` : Prisma.empty);

function toDevice(row: DeviceRow): DirectoryDevice {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    gpuModelId: row.gpu_model_id,
    gpuCount: row.gpu_count,
    vramGb: row.vram_gb,
    cpuCores: row.cpu_cores,
    ramGb: row.ram_gb,
    region: row.region,
    country: row.country.trim(),
    city: row.city,
    network: row.network,
    connectivityTier: row.connectivity_tier,
    pricePerGpuHour: row.price_per_gpu_hour,
    verificationScoreBps: row.verification_score_bps,
    verificationLevel: verificationLevel(row.verification_score_bps),
    lastHeartbeatAt: row.last_heartbeat_at,
    createdAt: row.created_at,
    supplier: { id: row.supplier_id, name: row.supplier_name },
  };
}

/** One page of the public devices table. Throws InvalidCursorError for a cursor of another listing. */
export async function listDirectoryDevices(db: Db, query: DeviceDirectoryQuery = {}): Promise<DeviceDirectoryPage> {
  const sortName = query.sort ?? "newest";
  const sort = SORTS[sortName];
  const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE);
  const where = filters(query);
  const cursor = query.cursor ? decodeCursor(sortName, query.cursor) : null;
  const pageWhere = cursor ? [...where, sort.after(cursor.key, cursor.id)] : where;
  const [rows, counted] = await Promise.all([
    db.$queryRaw<DeviceRow[]>`
      select d.id, d.name, d.status, d.gpu_model_id, d.gpu_count, d.vram_gb, d.cpu_cores, d.ram_gb, d.region, d.country, d.city,
             d.network, d.connectivity_tier, d.price_per_gpu_hour, d.verification_score_bps, d.last_heartbeat_at, d.created_at,
             d.supplier_id, s.name as supplier_name
        from device d join supplier s on s.id = d.supplier_id
       ${whereClause(pageWhere)}
       order by ${sort.order}
       limit ${limit + 1}`,
    // Counted up to the cap and no further: a bounded read however large the network.
    db.$queryRaw<{ n: number }[]>`
      select count(*)::int as n from (
        select 1 from device d join supplier s on s.id = d.supplier_id ${whereClause(where)} limit ${MATCH_COUNT_CAP + 1}
      ) capped`,
  ]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const n = counted[0]?.n ?? 0;
  return {
    devices: page.map(toDevice),
    nextCursor: rows.length > limit && last ? encodeCursor(sortName, sort.keyOf(last), last.id) : null,
    matches: { count: Math.min(n, MATCH_COUNT_CAP), atLeast: n > MATCH_COUNT_CAP },
  };
}
