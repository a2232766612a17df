import { PaymentToken } from "@gpumesh/core";
import { z } from "zod";
import { route } from "@/server/api/route.ts";
import { marketAvailability } from "@/server/services/markets/get-availability.ts";

export const dynamic = "force-dynamic";

const Query = z.object({ token: PaymentToken.default("USDC").describe("Prices in this token") });

/** Per GPU model and region: online, busy and free GPUs, today's price per GPU-hour, the hyperscaler list price. */
export const GET = route({ auth: "public", query: Query }, async ({ query }) => ({ markets: await marketAvailability(query.token) }));
