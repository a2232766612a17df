import { route } from "@/server/api/route.ts";
import { AvailabilityQuery } from "@/server/api/schemas/markets.ts";
import { availability } from "@gpumesh/db";
import { db } from "@/server/db.ts";

export const dynamic = "force-dynamic";

// Always fresh: API clients compare it with the quotes they get. The configure page's first render
// uses the short per-process cache (services/markets/get-availability.ts).
/** Per GPU model and region: online, busy and free GPUs, today's price per GPU-hour, the hyperscaler list price. */
export const GET = route({ auth: "public", query: AvailabilityQuery }, async ({ query }) => ({ markets: await availability(db, { now: new Date(), token: query.token }) }));
