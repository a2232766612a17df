import { route } from "@/server/api/route.ts";

export const dynamic = "force-dynamic";

/** Who is signed in on this browser (null when nobody). */
export const GET = route({ auth: "public" }, async ({ session }) => ({ session: session ? { walletAddress: session.walletAddress, expiresAt: session.expiresAt } : null }));
