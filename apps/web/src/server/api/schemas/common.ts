import { z } from "zod";

/** A token amount in base units: bigints travel as decimal strings (never lossy JSON numbers). */
export const Amount = z.string().regex(/^-?\d+$/).describe("Token amount in base units, as a decimal string").meta({ example: "2500000" });
/** Basis points that the server keeps as bigint (decimal string on the wire). */
export const BpsString = z.string().regex(/^-?\d+$/).describe("Basis points (1/100 of a percent), as a decimal string");
export const Timestamp = z.iso.datetime().describe("ISO 8601 time, UTC").meta({ example: "2026-12-01T03:00:00.000Z" });
export const Uuid = z.uuid();
/** `{ ok: true }`: what a route answers when its handler returns nothing. */
export const Ok = z.object({ ok: z.literal(true) });
