import { issueChallenge, originOf } from "@/server/auth/siws.ts";
import { NonceBody } from "@/server/api/schemas/auth.ts";
import { route } from "@/server/api/route.ts";
import { limitRate } from "@/server/api/rate-limit.ts";

/** A sign-in message for this wallet to sign (single-use nonce, expires in SIGN_IN_TTL_S). */
export const POST = route({ auth: "public", body: NonceBody }, async ({ request, body }) => {
  await limitRate(request, "sign-in", 20, 60);
  return issueChallenge(body.address, originOf(request));
});
