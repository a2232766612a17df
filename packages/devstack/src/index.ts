export { PortInUseError, assertPortFree, freePort, isPortFree } from "./ports.ts";
export { reachableDataDir, releaseSignalHandlers, startPostgres, throwawayDataDir, type RunningPostgres } from "./postgres.ts";
export { childProcesses, isRunning, processIdentity, ServiceRegistry, stopProcess, type ProcessIdentity, type ServiceRecord } from "./processes.ts";
export { startWatchdog } from "./watchdog.ts";
export { startRedis, type RunningRedis } from "./redis.ts";
export { TEST_ENV, createTestDatabase, startTestServices, testRedis, type TestDatabase, type TestServices } from "./test-services.ts";
export { DEV_WORKLOAD_SECRETS_KEY } from "./dev-secrets.ts";
