import { created, route } from "@/server/api/route.ts";
import { RegisterDeviceBody } from "@/server/api/schemas/supply.ts";
import { limitRate } from "@/server/api/rate-limit.ts";
import { registerDevice } from "@/server/services/supply/register-device.ts";
import { supplyOverview } from "@/server/services/supply/list-devices.ts";

/** Your devices (status, latest check, current lease) and the join tokens not used yet. */
export const GET = route({ auth: "session" }, ({ session }) => supplyOverview(session.accountId));

/** Registers a device to be: a one-time join token (1 hour) and the commands to run on the machine. */
export const POST = route({ auth: "session", body: RegisterDeviceBody }, async ({ request, session, body }) => {
  await limitRate(request, `join-token:${session.accountId}`, 30, 3_600);
  return created(await registerDevice(session, body));
});
