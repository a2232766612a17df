import { EnvError, envFields, parseEnv, secretKeyFromEnv } from "@gpumesh/core";
import { z } from "zod";

/** The web app's configuration, validated once at start (see .env.example). */
function load() {
  try {
    const env = parseEnv(
      {
        DATABASE_URL: envFields.postgresUrl,
        /** Sign-in nonces (single use, short TTL), rate limits and the scheduler's queues. */
        REDIS_URL: z.string().url("must be a redis:// URL"),
        LOG_LEVEL: envFields.logLevel,
        /** Solana JSON-RPC (localnet under `pnpm dev`; devnet or solana-test-validator elsewhere). */
        SOLANA_RPC_URL: z.string().url("must be an http(s) URL").optional(),
        /** The USDC mint renters pay with (base58); `pnpm dev` passes localnet's. MESH comes from the program config. */
        USDC_MINT: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "must be a base58 mint address").optional(),
        /**
         * The origins this app is served from, comma-separated (`https://app.gpumesh.io`). Sign-in
         * messages name the first one's host as their domain and are accepted only for these; state-
         * changing requests must come from one of them (CSRF). Never derived from a request's Host.
         */
        WEB_ORIGINS: z
          .string()
          .default("http://localhost:3000,http://127.0.0.1:3000")
          .transform((value, ctx) => {
            const origins = value.split(",").map((entry) => entry.trim()).filter(Boolean);
            const parsed: URL[] = [];
            for (const origin of origins) {
              try {
                parsed.push(new URL(origin));
              } catch {
                ctx.addIssue({ code: "custom", message: `"${origin}" is not a URL` });
                return z.NEVER;
              }
            }
            if (parsed.length === 0) {
              ctx.addIssue({ code: "custom", message: "must name at least one origin" });
              return z.NEVER;
            }
            return parsed.map((url) => url.origin);
          }),
        /** How long a browser session lasts after sign-in. */
        SESSION_TTL_H: envFields.positiveInt.default(24 * 7),
        /** How long a sign-in message may wait for its signature. */
        SIGN_IN_TTL_S: envFields.positiveInt.default(300),
        /** Where agents reach the gateway: the join command the Supply page prints names it. */
        GATEWAY_PUBLIC_URL: z.string().url("must be an http(s) URL").default("http://127.0.0.1:3200"),
        /** The gateway's Redis key prefix (its GATEWAY_PREFIX): removing a device closes its connection. */
        GATEWAY_PREFIX: z.string().min(1).default("gw"),
        /**
         * Requests per minute per client address on public GET routes of /api/v1. The browser tests send
         * a few hundred a minute from 127.0.0.1, well under the default.
         */
        API_RATE_LIMIT_PER_IP: envFields.positiveInt.default(600),
        /** Requests per minute per API key (Authorization: Bearer gmk_…), on every route that accepts keys. */
        API_RATE_LIMIT_PER_KEY: envFields.positiveInt.default(300),
        /**
         * Where quotes place from: `live`, an in-memory index of every device kept current by the
         * placement feed (@gpumesh/db live-placement.ts; loaded at the first quote, candidates are read
         * until it is ready), or `read`, a candidate read from Postgres per quote.
         */
        QUOTE_PLACEMENT: z.enum(["live", "read"]).default("live"),
        /**
         * The key renters' env values are sealed with in `cluster.workload` (32 bytes, base64; the
         * scheduler's same setting opens them). Required in production; read below, never echoed.
         */
        WORKLOAD_SECRETS_KEY: z.string().optional(),
        NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
      },
      process.env,
    );
    return { ...env, WORKLOAD_SECRETS_KEY: secretKeyFromEnv("WORKLOAD_SECRETS_KEY", env.WORKLOAD_SECRETS_KEY, env.NODE_ENV === "production" && "in production") };
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`[web] invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

export const env = load();
