import { route } from "@/server/api/route.ts";
import { streamNetwork } from "@/server/services/explorer/home.ts";

export const dynamic = "force-dynamic";

/** Public server-sent events: the headline now and after every new snapshot. */
export const GET = route({ auth: "public" }, ({ request }) => streamNetwork(request.signal));
