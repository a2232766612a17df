// Writes apps/web/openapi.json from the operations table (src/server/api/openapi/operations.ts).
// `pnpm --filter @gpumesh/web openapi`; src/server/api/openapi/openapi.test.ts fails while the
// committed file differs from what this writes.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openApiJson } from "../src/server/api/openapi/document.ts";

const target = fileURLToPath(new URL("../openapi.json", import.meta.url));
writeFileSync(target, openApiJson());
console.log(`wrote ${target}`);
