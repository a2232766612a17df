import "server-only";
import {
  chainTransaction,
  deviceChecks,
  InvalidCursorError,
  listDirectoryDevices,
  publicDeviceDetail,
  publicSupplierDetail,
  type ChainTransaction,
  type DeviceChecksPage,
  type DeviceDirectoryPage,
  type DirectoryDevice,
  type DirectoryDeviceStatus,
  type DirectoryNetwork,
  type PublicDeviceDetail,
  type PublicSupplierDetail,
} from "@gpumesh/db";
import { ApiError, notFound } from "../../api/errors.ts";
import type { PageOf, PageQuery } from "../../api/pagination.ts";
import type { DeviceListQuery } from "../../api/schemas/directory.ts";
import { db } from "../../db.ts";

/**
 * The explorer's public directory (devices, a device, a supplier, a transaction), shared by the pages
 * and /api/v1. The queries and their keyset cursors live in @gpumesh/db (directory.ts): the cursor
 * encodes the sort column, which only the query knows, and the same 422 as the pagination helper's
 * answers a bad one.
 */

const badCursor = () => new ApiError("VALIDATION", "cursor: not a cursor this list issued; start again without one", "cursor");

async function paged<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof InvalidCursorError) throw badCursor();
    throw error;
  }
}

export type DeviceListPage = PageOf<DirectoryDevice> & { matches: DeviceDirectoryPage["matches"] };

const toPage = (page: DeviceDirectoryPage): DeviceListPage => ({ items: page.devices, next_cursor: page.nextCursor, matches: page.matches });

/** One page of the devices table, filtered and sorted as asked. */
export async function listDevices(query: DeviceListQuery): Promise<DeviceListPage> {
  const page = await paged(() =>
    listDirectoryDevices(db, {
      q: query.q || undefined,
      gpuModelId: query.model,
      region: query.region,
      status: query.status?.toUpperCase() as DirectoryDeviceStatus | undefined,
      network: query.network?.toUpperCase() as DirectoryNetwork | undefined,
      verification: query.verification,
      sort: query.sort,
      cursor: query.cursor || undefined,
      limit: query.limit,
    }),
  );
  return toPage(page);
}

/** A device's public page, or 404. */
export async function devicePage(deviceId: string): Promise<PublicDeviceDetail> {
  const detail = await publicDeviceDetail(db, deviceId);
  if (!detail) throw notFound("device");
  return detail;
}

/** A device's proof-of-work checks with their evidence, newest first; 404 for no such device. */
export async function deviceEvidence(deviceId: string, query: PageQuery): Promise<PageOf<DeviceChecksPage["checks"][number]>> {
  const exists = await db.device.findUnique({ where: { id: deviceId }, select: { id: true } });
  if (!exists) throw notFound("device");
  const page = await paged(() => deviceChecks(db, deviceId, { limit: query.limit, cursor: query.cursor || undefined }));
  return { items: page.checks, next_cursor: page.nextCursor };
}

/** A supplier by id, wallet or on-chain address, or 404. */
export async function supplierPage(key: string): Promise<Omit<PublicSupplierDetail, "devices"> & { devices: DeviceListPage }> {
  const detail = await publicSupplierDetail(db, key);
  if (!detail) throw notFound("supplier");
  return { ...detail, devices: toPage(detail.devices) };
}

/** One of our program's indexed transactions, or 404. */
export async function transactionPage(signature: string): Promise<ChainTransaction> {
  const found = await chainTransaction(db, signature);
  if (!found) throw notFound("transaction");
  return found;
}
