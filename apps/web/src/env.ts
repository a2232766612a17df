import { EnvError, envFields, parseEnv } from "@gpumesh/core";

/** The web app's configuration, validated once at start (see .env.example). */
function load() {
  try {
    return parseEnv(
      {
        DATABASE_URL: envFields.postgresUrl,
        LOG_LEVEL: envFields.logLevel,
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
