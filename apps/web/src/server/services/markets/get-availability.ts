import "server-only";
import type { PaymentToken } from "@gpumesh/core";
import { availability, type MarketAvailability } from "@gpumesh/db";
import { db } from "../../db.ts";

/**
 * The configure page's market table, cached per token for a few seconds per process: it aggregates
 * every online device (about 0.6 s at 100,000 devices on a loaded 2-core machine, bench/RESULTS.md),
 * and every open configure page polls it. A few seconds of staleness is fine for a table; the quote
 * itself always matches and prices against the database at that instant.
 */
const TTL_MS = 5_000;
const cache = new Map<PaymentToken, { at: number; value: Promise<MarketAvailability[]> }>();

export function marketAvailability(token: PaymentToken, now = Date.now()): Promise<MarketAvailability[]> {
  const hit = cache.get(token);
  if (hit && now - hit.at < TTL_MS) return hit.value;
  const value = availability(db, { now: new Date(now), token });
  cache.set(token, { at: now, value });
  value.catch(() => cache.delete(token)); // a failure is not cached
  return value;
}
