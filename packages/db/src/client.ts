import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export type Db = PrismaClient;

/**
 * A Prisma client over node-postgres (Prisma 7 driver adapter: no native query engine, works offline).
 * `max` bounds the connection pool; the scheduler and tests size it explicitly.
 */
export function createDb(url: string, options: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}

/** The client handed to an interactive transaction's callback. */
export type DbTransaction = Parameters<Parameters<Db["$transaction"]>[0]>[0];
