// `prisma generate` that works offline. The Prisma CLI fetches its native schema engine at start even
// though generate never uses it (Prisma 7 generates with wasm); where that download cannot happen the
// CLI aborts. Pointing PRISMA_SCHEMA_ENGINE_BINARY at a stub skips the fetch. Anyone who set the
// variable themselves (or has a downloaded engine) keeps the normal Prisma behaviour.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const stub = path.join(root, "packages/db/scripts/schema-engine-stub.sh");
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? stub };
const prisma = path.join(root, "packages/db/node_modules/.bin/prisma");
const result = spawnSync(prisma, ["generate"], { cwd: root, env, stdio: "inherit" });
process.exit(result.status ?? 1);
