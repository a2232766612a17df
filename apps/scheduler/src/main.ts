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

// SIGTERM (process managers, Kubernetes), SIGINT (Ctrl-C) and SIGHUP (a closed terminal) all drain:
// no new jobs, the active ones get SHUTDOWN_GRACE_S to finish, then the process exits 0. Jobs still
// running after the grace are let go (their locks expire and another scheduler retries them). A
// second signal exits at once, the same way. A signal during start-up drains once it has started
// (its workers may already hold jobs), rather than killing the process mid-job.
type Scheduler = Awaited<ReturnType<typeof startScheduler>>;
const started: { scheduler?: Scheduler } = {};
let stopping = false;
const drain = (running: Scheduler) =>
  running.stop({ graceMs: env.SHUTDOWN_GRACE_S * 1000 }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopping) {
      console.error(`[scheduler] ${signal} again: exiting without waiting for active jobs`);
      process.exit(0);
    }
    stopping = true;
    if (started.scheduler) void drain(started.scheduler);
  });
}
started.scheduler = await startScheduler(env);
if (stopping) void drain(started.scheduler);
