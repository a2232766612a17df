import { envFields, parseEnv } from "@gpumesh/core";
import { z } from "zod";

export const schedulerEnvShape = {
  DATABASE_URL: envFields.postgresUrl,
  REDIS_URL: envFields.redisUrl,
  LOG_LEVEL: envFields.logLevel,
  /** A device that has not sent a heartbeat for this long is marked OFFLINE. */
  DEVICE_OFFLINE_AFTER_S: envFields.positiveInt.default(90),
  /** How often the health sweep runs. */
  HEALTH_SWEEP_EVERY_S: envFields.positiveInt.default(15),
  /** Prefix for BullMQ keys, so several environments can share one Redis. */
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9:_-]+$/i, "must be letters, digits, ':', '_' or '-'").default("gpumesh"),
};

export type SchedulerEnv = ReturnType<typeof loadSchedulerEnv>;

export function loadSchedulerEnv(source: Record<string, string | undefined> = process.env) {
  return parseEnv(schedulerEnvShape, source);
}
