import "server-only";
import { createDb, type Db } from "@gpumesh/db";
import { env } from "../env.ts";

// One pool per server process; Next's dev server re-evaluates modules on reload, so keep it global.
const globalForDb = globalThis as unknown as { gpumeshDb?: Db };
export const db: Db = globalForDb.gpumeshDb ?? createDb(env.DATABASE_URL, { max: 10 });
globalForDb.gpumeshDb = db;
