import { PayBody, QuoteParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { payQuote } from "@/server/services/quotes/pay-quote.ts";

/** Submits the wallet-signed open_lease: checked against the order, confirmed, recorded once. */
export const POST = route({ auth: "session", params: QuoteParams, body: PayBody }, ({ session, params, body }) => payQuote(session, params.quoteId, body.transaction));
