// `pnpm db:migrate`: apply pending migrations to DATABASE_URL.
import { migrate } from "../src/migrate.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is not set (e.g. postgresql://user:pass@localhost:5432/gpumesh)");
  process.exit(1);
}
const applied = await migrate(url, { log: console.log });
console.log(applied.length ? `${applied.length} migration(s) applied` : "database is up to date");
