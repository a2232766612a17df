import { EnvError } from "@gpumesh/core";
import { pino } from "pino";
import { loadGatewayEnv } from "./env.ts";
import { startGateway } from "./gateway.ts";

let env;
try {
  env = loadGatewayEnv();
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`gateway: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
const logger = pino({ level: env.LOG_LEVEL, name: "gateway" });
const gateway = await startGateway(env, logger);

// SIGTERM/SIGINT/SIGHUP: close agent connections (they reconnect elsewhere), flush liveness, exit.
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "stop failed");
        process.exit(1);
      },
    );
  });
}
