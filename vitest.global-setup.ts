// Starts real Postgres and Redis for the test run unless `pnpm test` (scripts/test.ts) already did.
import { startTestServices, TEST_ENV } from "@gpumesh/devstack";
import { migrate } from "@gpumesh/db";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[TEST_ENV.pgAdminUrl] && process.env[TEST_ENV.redisUrl]) return undefined;
  const services = await startTestServices({ prepareTemplate: (url) => migrate(url) });
  Object.assign(process.env, services.env);
  return () => services.stop();
}
