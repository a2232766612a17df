export { createDb, type Db } from "./client.ts";
export { migrate, listMigrations, MigrationError, MIGRATIONS_DIR } from "./migrate.ts";
export { postJournal, ledgerBalance, type PostedJournal } from "./ledger.ts";
export { seedCatalogue, seedSimulatedNetwork, type SeedOptions } from "./seed.ts";
export { networkSummary, type NetworkSummary } from "./network-summary.ts";
export { Prisma } from "./generated/prisma/client.ts";
export type * from "./generated/prisma/client.ts";
