import { QuoteParams } from "@/server/api/schemas/clusters.ts";
import { route } from "@/server/api/route.ts";
import { readQuote } from "@/server/services/quotes/create-quote.ts";

export const dynamic = "force-dynamic";

/** One of your quotes as the server stored it (price, deposit, held devices, expiry). */
export const GET = route({ auth: "apiKey", params: QuoteParams }, ({ session, params }) => readQuote(session, params.quoteId));
