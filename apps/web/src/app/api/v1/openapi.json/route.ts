import { buildOpenApiDocument } from "@/server/api/openapi/document.ts";
import { route } from "@/server/api/route.ts";

// Built once per server process from the operations table (the same one apps/web/openapi.json is written from).
let document: ReturnType<typeof buildOpenApiDocument> | undefined;

/** This API's OpenAPI 3.1 document. */
export const GET = route({ auth: "public" }, () => Promise.resolve((document ??= buildOpenApiDocument())));
