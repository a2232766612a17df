import { startSession } from "@/server/auth/session.ts";
import { verifySignIn } from "@/server/auth/siws.ts";
import { VerifyBody } from "@/server/api/schemas/auth.ts";
import { route } from "@/server/api/route.ts";

/** Checks the signed sign-in message and starts a session (httpOnly cookie). */
export const POST = route({ auth: "public", body: VerifyBody }, async ({ request, body }) => {
  const address = await verifySignIn(body);
  const session = await startSession(address, request.headers.get("user-agent"));
  return { walletAddress: session.walletAddress, expiresAt: session.expiresAt };
});
