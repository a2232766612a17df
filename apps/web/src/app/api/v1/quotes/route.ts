import { NewClusterRequest } from "@gpumesh/core";
import { created, route } from "@/server/api/route.ts";
import { createQuote } from "@/server/services/quotes/create-quote.ts";

/** Prices your configuration and holds matching devices for a few minutes; pay it to deploy. */
export const POST = route({ auth: "apiKey", body: NewClusterRequest }, async ({ session, body }) => created(await createQuote(session, body)));
