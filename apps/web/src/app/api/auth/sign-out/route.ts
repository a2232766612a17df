import { endSession } from "@/server/auth/session.ts";
import { route } from "@/server/api/route.ts";

/** Revokes this browser's session. */
export const POST = route({ auth: "public" }, async () => {
  await endSession();
  return { signedOut: true };
});
