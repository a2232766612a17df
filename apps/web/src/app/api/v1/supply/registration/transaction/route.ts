import { route } from "@/server/api/route.ts";
import { registrationOrder } from "@/server/services/supply/registration.ts";

/** The unsigned register_supplier for your wallet to sign (or, already on-chain, the recorded state). */
export const POST = route({ auth: "session" }, ({ session }) => registrationOrder(session));
