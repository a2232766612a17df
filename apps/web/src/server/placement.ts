import "server-only";
import { DEFAULT_MATCHER_CONFIG } from "@gpumesh/core";
import { LivePlacement } from "@gpumesh/db";
import { env } from "../env.ts";
import { logger } from "./logger.ts";

// One index per server process, kept on globalThis because Next's dev server re-evaluates modules on
// every reload (a second index would hold a second copy of the network and a second LISTEN connection).
const globalForPlacement = globalThis as unknown as { gpumeshQuotePlacement?: LivePlacement };

/**
 * The live placement index quotes place from (QUOTE_PLACEMENT=live), started by the first quote: that
 * quote and those during the load (seconds at a million devices) read candidates from Postgres. Null
 * with QUOTE_PLACEMENT=read.
 */
export function quotePlacement(): LivePlacement | null {
  if (env.QUOTE_PLACEMENT !== "live") return null;
  // follow(): loads in the background and keeps retrying; quotes read candidates until it is ready.
  globalForPlacement.gpumeshQuotePlacement ??= new LivePlacement({ url: env.DATABASE_URL, minVerificationScoreBps: DEFAULT_MATCHER_CONFIG.minVerificationScoreBps, logger }).follow();
  return globalForPlacement.gpumeshQuotePlacement;
}
