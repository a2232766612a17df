import { createHash } from "node:crypto";

/**
 * WORKLOAD_SECRETS_KEY of `pnpm dev` and the browser tests: derived from a public string, so anyone can
 * read env values sealed with it (dev data only; production must set its own key, and the web and the
 * scheduler refuse to start there without one). Fixed rather than random so that clusters quoted before
 * a restart of `pnpm dev` still deploy after it (the data directory survives restarts).
 */
export const DEV_WORKLOAD_SECRETS_KEY = createHash("sha256").update("gpumesh dev workload secrets key").digest("base64");
