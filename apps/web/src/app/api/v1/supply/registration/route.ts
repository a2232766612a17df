import { route } from "@/server/api/route.ts";
import { RegistrationPayBody } from "@/server/api/schemas/supply.ts";
import { registrationState, submitRegistration } from "@/server/services/supply/registration.ts";

/** Whether you are registered as a supplier on-chain (your devices are rentable only then). */
export const GET = route({ auth: "session" }, ({ session }) => registrationState(session));

/** Submits your wallet-signed register_supplier (from POST …/registration/transaction). */
export const POST = route(
  { auth: "session", body: RegistrationPayBody },
  ({ session, body }) => submitRegistration(session, body.transaction),
);
