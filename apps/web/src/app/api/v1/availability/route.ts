import { PaymentToken } from "@gpumesh/core";
import { availability } from "@gpumesh/db";
import { z } from "zod";
import { route } from "@/server/api/route.ts";
import { db } from "@/server/db.ts";

export const dynamic = "force-dynamic";

const Query = z.object({ token: PaymentToken.default("USDC").describe("Prices in this token") });

/** Per GPU model and region: online, busy and free GPUs, today's price per GPU-hour, the hyperscaler list price. */
export const GET = route({ auth: "public", query: Query }, async ({ query }) => ({ markets: await availability(db, { now: new Date(), token: query.token }) }));
