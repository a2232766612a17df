// Prisma CLI configuration (Prisma 7). The CLI is only used for `prisma generate` here; migrations are
// plain SQL files applied by packages/db/src/migrate.ts (see README "Database").
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    url: process.env.DATABASE_URL ?? "postgresql://gpumesh:gpumesh@localhost:5432/gpumesh",
  },
});
