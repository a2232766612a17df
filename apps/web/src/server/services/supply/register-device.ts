import "server-only";
import { createJoinToken, supplierOfAccount } from "@gpumesh/db";
import { env } from "../../../env.ts";
import { ApiError } from "../../api/errors.ts";
import type { RegisterDeviceBody } from "../../api/schemas/supply.ts";
import type { Session } from "../../auth/session.ts";
import { db } from "../../db.ts";
import { supplierName } from "./registration.ts";

/** At most this many unused, unexpired tokens per supplier (each is a device to be). */
const MAX_OPEN_TOKENS = 20;

export interface RegisteredDevice {
  token: string;
  expiresAt: Date;
  /** What to run on the machine, with this token and this network's gateway. */
  commands: { join: string; start: string };
}

/**
 * Registers a device to be: a one-time join token for the agent on the machine (the device itself is
 * created when the agent joins with the hardware it found). The account becomes a supplier on its
 * first device; payouts go to its wallet.
 */
export async function registerDevice(session: Session, body: RegisterDeviceBody): Promise<RegisteredDevice> {
  const supplier = await supplierOfAccount(db, session.accountId, supplierName(session));
  const open = await db.deviceJoinToken.count({ where: { supplierId: supplier.id, usedAt: null, expiresAt: { gt: new Date() } } });
  if (open >= MAX_OPEN_TOKENS) {
    throw new ApiError("CONFLICT", `you have ${open} unused join tokens; use or let them expire (1 hour) before creating more`);
  }
  const { token, expiresAt } = await createJoinToken(db, { supplierId: supplier.id, name: body.name, region: body.region, network: body.network });
  const gateway = env.GATEWAY_PUBLIC_URL;
  return { token, expiresAt, commands: { join: `pnpm agent join --token ${token} --gateway ${gateway}`, start: "pnpm agent start" } };
}
