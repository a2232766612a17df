import "server-only";
import pino from "pino";
import { env } from "../env.ts";

/** One structured logger per server process (JSON lines; `pnpm dev` shows them in the web's output). */
const globalForLogger = globalThis as unknown as { gpumeshLogger?: pino.Logger };
export const logger: pino.Logger = globalForLogger.gpumeshLogger ?? pino({ name: "web", level: env.LOG_LEVEL, redact: ["*.signature", "*.token", "*.cookie", "req.headers.cookie"] });
globalForLogger.gpumeshLogger = logger;
