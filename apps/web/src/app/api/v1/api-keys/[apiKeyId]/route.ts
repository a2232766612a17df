import { route } from "@/server/api/route.ts";
import { ApiKeyParams } from "@/server/api/schemas/api-keys.ts";
import { revokeApiKey } from "@/server/auth/api-keys.ts";

/** Revokes one of your API keys: requests with it are refused (401 INVALID_API_KEY) from now on. Session only. */
export const DELETE = route({ auth: "session", params: ApiKeyParams }, ({ session, params }) => revokeApiKey(session.accountId, params.apiKeyId));
