import { EnvError, parseEnv } from "@gpumesh/core";
import { z } from "zod";

/** The agent's configuration (see .env.example). */
export function loadAgentEnv(source: Record<string, string | undefined> = process.env) {
  try {
    return parseEnv({ GPUMESH_API_URL: z.string().url("must be an http(s) URL").default("http://localhost:3000") }, source);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`[agent] invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
