import { EnvError } from "@gpumesh/core";
import { loadSchedulerEnv } from "./env.ts";
import { startScheduler } from "./scheduler.ts";

let env;
try {
  env = loadSchedulerEnv();
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`[scheduler] invalid configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const scheduler = await startScheduler(env);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    scheduler.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
