import "server-only";
import { createDb, Prisma, type Db } from "@gpumesh/db";
import { env } from "../env.ts";

// One pool per server process, kept on globalThis because Next's dev server re-evaluates modules on
// every reload. Keyed by the Prisma runtime this module was bundled with: a client made by another
// bundle (an earlier reload, another route's chunk) checks SQL fragments against its own `Sql` class,
// so nested `Prisma.sql` fragments from this bundle would be sent as JSON parameters.
const globalForDb = globalThis as unknown as { gpumeshDbs?: WeakMap<object, Db> };
const clients = (globalForDb.gpumeshDbs ??= new WeakMap());
export const db: Db = clients.get(Prisma.Sql) ?? createDb(env.DATABASE_URL, { max: 10 });
clients.set(Prisma.Sql, db);
