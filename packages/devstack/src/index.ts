export { PortInUseError, assertPortFree, freePort, isPortFree } from "./ports.ts";
export { reachableDataDir, startPostgres, throwawayDataDir, type RunningPostgres } from "./postgres.ts";
export { startRedis, type RunningRedis } from "./redis.ts";
export { TEST_ENV, createTestDatabase, startTestServices, testRedis, type TestDatabase, type TestServices } from "./test-services.ts";
