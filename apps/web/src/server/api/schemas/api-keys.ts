import { z } from "zod";
import { Timestamp } from "./common.ts";

export const ApiKeyParams = z.object({ apiKeyId: z.uuid("must be an API key id (UUID)") });

export const CreateApiKeyBody = z.object({
  name: z.string().trim().min(1, "give the key a name").max(80, "at most 80 characters").describe("What the key is for (shown in settings)").meta({ example: "nightly training job" }),
});

export const ApiKeyView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The key's first characters, to tell keys apart"),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable().describe("Last request with this key (to the minute)"),
    revokedAt: Timestamp.nullable(),
  })
  .meta({ id: "ApiKey" });

export const ApiKeyList = z.object({ items: z.array(ApiKeyView) });
export const CreatedApiKey = ApiKeyView.extend({ key: z.string().describe("The key itself: shown this once, never again. Send it as `Authorization: Bearer <key>`") }).meta({ id: "CreatedApiKey" });
