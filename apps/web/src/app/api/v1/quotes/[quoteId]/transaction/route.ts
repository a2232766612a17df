import { QuoteParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { orderQuote } from "@/server/services/quotes/pay-quote.ts";

/** The unsigned open_lease for this quote, built by the server from the stored quote. */
export const POST = route({ auth: "session", params: QuoteParams }, ({ session, params }) => orderQuote(session, params.quoteId));
