import { EnvError, envFields, parseEnv } from "@gpumesh/core";
import { z } from "zod";

/** The web app's configuration, validated once at start (see .env.example). */
function load() {
  try {
    return parseEnv(
      {
        DATABASE_URL: envFields.postgresUrl,
        LOG_LEVEL: envFields.logLevel,
        /** Solana JSON-RPC (localnet under `pnpm dev`; devnet or solana-test-validator elsewhere). */
        SOLANA_RPC_URL: z.string().url("must be an http(s) URL").optional(),
      },
      process.env,
    );
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`[web] invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

export const env = load();
