import "server-only";
import type { ClusterRequestInput } from "@gpumesh/core";
import { createHeldQuote, getQuote, QuoteContendedError, type HeldQuote, type QuoteView } from "@gpumesh/db";
import { ApiError, notFound } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { env } from "../../../env.ts";
import { chain } from "../../chain.ts";
import { db } from "../../db.ts";
import { quotePlacement } from "../../placement.ts";

/**
 * A held quote: the server matches and prices the request (never a client's price) and holds the
 * devices for a few minutes, so what the renter pays for is what deploys. Nothing to quote is a 409
 * NO_CAPACITY whose `details` name the nearest alternatives (other regions, other models).
 */
export async function createQuote(session: Session, request: ClusterRequestInput, now = new Date()): Promise<HeldQuote> {
  // The fee and burn rates are the program's: the lease snapshots them when it opens.
  const config = await chain().config();
  let result;
  try {
    const placement = quotePlacement();
    result = await createHeldQuote(db, {
      accountId: session.accountId, request, now, rates: { feeBps: config.feeBps, burnBps: config.burnBps }, ...(placement ? { placement } : {}),
      // Env values are stored sealed with the server key; only the scheduler opens them.
      ...(env.WORKLOAD_SECRETS_KEY ? { workloadSecretsKey: env.WORKLOAD_SECRETS_KEY } : {}),
    });
  } catch (error) {
    if (error instanceof QuoteContendedError) throw new ApiError("CONFLICT", "another quote of yours is being prepared; try again in a moment");
    throw error;
  }
  if (!result.ok) {
    const { message, constraint, requested, otherRegions, otherModels } = result;
    // The field a renter can change to get a quote: the price cap, or the image (no device there runs one).
    const field = constraint === "price" ? "maxPricePerGpuHour" : constraint === "runtime" ? "workload.image" : undefined;
    throw new ApiError("NO_CAPACITY", message, field, { constraint, requested, otherRegions, otherModels });
  }
  return result.quote;
}

export async function readQuote(session: Session, quoteId: string, now = new Date()): Promise<QuoteView> {
  const quote = await getQuote(db, quoteId, now);
  if (!quote || quote.renterId !== session.accountId) throw notFound("quote");
  return quote;
}
