import { created, route } from "@/server/api/route.ts";
import { CreateApiKeyBody } from "@/server/api/schemas/api-keys.ts";
import { createApiKey, listApiKeys } from "@/server/auth/api-keys.ts";

export const dynamic = "force-dynamic";

/** Your API keys (prefix, name, created, last used, revoked), never the keys themselves. Session only. */
export const GET = route({ auth: "session" }, async ({ session }) => ({ items: await listApiKeys(session.accountId) }));

/** A new API key, shown this once. Session only: a key cannot mint keys. */
export const POST = route({ auth: "session", body: CreateApiKeyBody }, async ({ session, body }) => created(await createApiKey(session.accountId, body.name)));
