import { z } from "zod";
import { route } from "@/server/api/route.ts";
import { registrationState, submitRegistration } from "@/server/services/supply/registration.ts";

/** Whether you are registered as a supplier on-chain (your devices are rentable only then). */
export const GET = route({ auth: "session" }, ({ session }) => registrationState(session));

/** Submits your wallet-signed register_supplier (from POST …/registration/transaction). */
export const POST = route(
  { auth: "session", body: z.object({ transaction: z.string().min(1, "the signed transaction (base64)").max(4_096) }) },
  ({ session, body }) => submitRegistration(session, body.transaction),
);
