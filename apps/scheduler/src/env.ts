import { EnvError, envFields, parseEnv, secretKeyFromEnv } from "@gpumesh/core";
import { DEFAULT_CHAIN_RETRY, DEFAULT_QUEUE_PREFIX } from "@gpumesh/queue";
import { z } from "zod";

const bps = z.coerce.number().int().min(0, "must be basis points 0-10000").max(10_000, "must be basis points 0-10000");

export const schedulerEnvShape = {
  DATABASE_URL: envFields.postgresUrl,
  REDIS_URL: envFields.redisUrl,
  LOG_LEVEL: envFields.logLevel,
  /** A device that has not sent a heartbeat for this long is marked OFFLINE. */
  DEVICE_OFFLINE_AFTER_S: envFields.positiveInt.default(90),
  /** How often the health sweep runs. */
  HEALTH_SWEEP_EVERY_S: envFields.positiveInt.default(15),
  /** Prefix for BullMQ keys, so several environments can share one Redis. */
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9:_-]+$/i, "must be letters, digits, ':', '_' or '-'").default(DEFAULT_QUEUE_PREFIX),
  /** How long an agent has to acknowledge an assignment before its node is replaced. */
  DEPLOY_ACK_TIMEOUT_S: envFields.positiveInt.default(120),
  /** Nodes a deployment may replace (refusals, ack timeouts) before it fails and refunds. */
  DEPLOY_MAX_REPLACEMENTS: z.coerce.number().int().min(0, "must be a non-negative integer").default(3),
  /** Re-matches after losing reservation races, per matching round. */
  DEPLOY_MAX_RESERVE_ATTEMPTS: envFields.positiveInt.default(5),
  /** Parallel deploy jobs per scheduler process. */
  DEPLOY_CONCURRENCY: envFields.positiveInt.default(8),
  /**
   * Where deploy rounds place from: `live`, an in-memory index of every device kept current by the
   * placement feed (packages/db live-placement.ts; candidate reads until it has loaded, or while its
   * feed is down), or `read`, a candidate read from Postgres per round.
   */
  PLACEMENT: z.enum(["live", "read"]).default("live"),
  /** How often stuck deployments (paid, matching, deploying) are re-driven: recovery after crashes. */
  DEPLOY_SWEEP_EVERY_S: envFields.positiveInt.default(30),
  /** Devices scoring below this (verification, basis points) are never matched. */
  MIN_VERIFICATION_SCORE_BPS: bps.default(5_000),
  /**
   * Where assignments and challenges go: `gateway` (real agents through apps/gateway; what `pnpm dev`
   * runs), `simulated` (in-process agents that accept: scheduler tests and benches), `none`.
   */
  AGENT_CHANNEL: z.enum(["gateway", "simulated", "none"]).default("simulated"),
  /** The gateway's Redis key prefix (its GATEWAY_PREFIX). */
  AGENT_GATEWAY_PREFIX: z.string().min(1).default("gw"),
  /** How often the explorer rollup takes a snapshot of the network (packages/db explorer/rollup.ts). */
  EXPLORER_EVERY_S: envFields.positiveInt.default(30),
  /** How often running leases are checked for complete hours to settle and for their end. */
  SETTLE_SWEEP_EVERY_S: envFields.positiveInt.default(60),
  /** Attempts of a chain-touching job (settle, end, cancel, reward epoch) before the sweeps take it over. */
  CHAIN_RETRY_ATTEMPTS: envFields.positiveInt.default(DEFAULT_CHAIN_RETRY.attempts),
  /** First retry delay of a chain-touching job; it doubles per attempt up to CHAIN_RETRY_MAX_DELAY_S. */
  CHAIN_RETRY_DELAY_MS: envFields.positiveInt.default(DEFAULT_CHAIN_RETRY.delayMs),
  /** Cap of the chain-touching jobs' exponential backoff (the defaults ride out about 15 minutes of outage). */
  CHAIN_RETRY_MAX_DELAY_S: envFields.positiveInt.default(60),
  /**
   * A REQUESTED cluster not paid within this long fails ("payment not received"; nothing escrowed). Only
   * for clusters without their own quote_expires_at: a held quote (packages/db quotes.ts) expires at
   * that instant (5 minutes by default), which releases the devices it holds.
   */
  QUOTE_TTL_S: envFields.positiveInt.default(1_800),
  /** Each ONLINE or REGISTERED device gets one proof-of-work challenge per this many seconds (at a per-device phase). */
  VERIFY_EVERY_S: envFields.positiveInt.default(3_600),
  /** How often the verify sweep issues due challenges and expires overdue ones. */
  VERIFY_SWEEP_EVERY_S: envFields.positiveInt.default(15),
  /** Time a device has for the whole challenge (commitment and opened rows). */
  VERIFY_DEADLINE_S: envFields.positiveInt.default(120),
  /** n of the n×n int8 GEMM (agent O(n³), verifier O(k·n²)); timing classes GPUs only in the thousands. */
  VERIFY_MATRIX_SIZE: z.coerce.number().int().min(16, "must be an integer 16-8192").max(8_192, "must be an integer 16-8192").default(128),
  /** Rows k the verifier opens and recomputes per challenge (capped at n). */
  VERIFY_SAMPLED_ROWS: z.coerce.number().int().min(1, "must be an integer 1-256").max(256, "must be an integer 1-256").default(8),
  /** Most challenges one sweep issues; keep VERIFY_BATCH × VERIFY_EVERY_S / VERIFY_SWEEP_EVERY_S above the device count. */
  VERIFY_BATCH: envFields.positiveInt.default(1_000),
  /**
   * Share of a device's required stake burned when a proof-of-work challenge proves it cheated (a wrong
   * result, or rows of another matrix than the committed one), basis points; capped at what is staked.
   */
  SLASH_BPS: bps.default(10_000),
  /**
   * Share of a device's required stake burned when it vanished mid-lease (VANISH_GRACE_S), basis points.
   * Lower than SLASH_BPS: walking out on a renter is not forging a proof, and a burn cannot be undone.
   */
  VANISH_SLASH_BPS: bps.default(1_000),
  /**
   * Correlated outages are not slashed: when at least this many devices (serving or not) went silent
   * within VANISH_CORRELATION_S of a mid-lease outage's start, the cause is more likely the network or
   * GPUMesh itself (a gateway, Redis or the heartbeat path down) than the supplier, so it is decided
   * without a slash.
   */
  VANISH_MASS_OUTAGE: envFields.positiveInt.default(10),
  VANISH_CORRELATION_S: envFields.positiveInt.default(300),
  /**
   * A device serving a lease that stays offline longer than this, counted from its last heartbeat, has
   * vanished mid-lease: its stake is slashed (VANISH_SLASH_BPS, reason VanishedMidLease), once per outage. A
   * device back within it is not. Longer than DEVICE_OFFLINE_AFTER_S, so a missed heartbeat never slashes.
   */
  VANISH_GRACE_S: envFields.positiveInt.default(900),
  /** Protocol fee on lease payments, basis points of gross (DESIGN.md: fee = ⌊gross · fee_bps / 10⁴⌋). Without a chain only: with SOLANA_RPC_URL the program's config rates apply. */
  FEE_BPS: bps.default(500),
  /** Share of the fee burned when paid in MESH, basis points. */
  BURN_BPS: bps.default(5_000),
  /** Port of the queue dashboard (admin HTTP API); 0 = off. Needs ADMIN_TOKEN. */
  ADMIN_PORT: z.coerce.number().int().min(0, "must be a port number 0-65535").max(65_535, "must be a port number 0-65535").default(0),
  /** Interface the dashboard binds to (loopback by default: put a proxy in front to expose it). */
  ADMIN_HOST: z.string().min(1).default("127.0.0.1"),
  /** Dashboard password (HTTP Basic) or Bearer token; length is checked below so that a bad value is never echoed. */
  ADMIN_TOKEN: z.string().optional(),
  /** The Solana JSON-RPC node (localnet, solana-test-validator, devnet). Unset: chain steps are recorded, not sent. */
  SOLANA_RPC_URL: z.string().url("must be an http(s) URL").optional(),
  /** Keypair that signs settle_lease/end_lease: a Solana CLI keypair file (JSON array of 64 bytes), or `dev` for localnet's published dev key. */
  SETTLEMENT_AUTHORITY_KEYPAIR: z.string().min(1).optional(),
  /** Keypair that signs post_reward_root: a keypair file, or `dev`. */
  REWARDS_AUTHORITY_KEYPAIR: z.string().min(1).optional(),
  /** How often the chain indexer mirrors new program transactions into Postgres (with SOLANA_RPC_URL). */
  INDEX_EVERY_S: envFields.positiveInt.default(2),
  /** How often the rewards sweep checks for a completed emission hour to compute and post (with SOLANA_RPC_URL). */
  REWARDS_SWEEP_EVERY_S: envFields.positiveInt.default(60),
  /**
   * On SIGTERM/SIGINT/SIGHUP, how long active jobs get to finish before the workers let go of them
   * (their locks then expire and another scheduler process retries them as stalled). Keep it under
   * the process manager's kill timeout (Kubernetes: terminationGracePeriodSeconds, 30 by default).
   */
  SHUTDOWN_GRACE_S: envFields.positiveInt.default(25),
  /**
   * The key renters' env values are sealed with at rest (32 bytes, base64; the web's same setting): the
   * deploy job opens them to seal them to each device. Required in production; read below, never echoed.
   */
  WORKLOAD_SECRETS_KEY: z.string().optional(),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
};

export const MIN_ADMIN_TOKEN_LENGTH = 24;

export type SchedulerEnv = ReturnType<typeof loadSchedulerEnv>;

export function loadSchedulerEnv(source: Record<string, string | undefined> = process.env) {
  const env = parseEnv(schedulerEnvShape, source);
  if (env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new EnvError("ADMIN_TOKEN", `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  // The dashboard can retry jobs: never serve it unauthenticated.
  if (env.ADMIN_PORT > 0 && env.ADMIN_TOKEN === undefined) {
    throw new EnvError("ADMIN_TOKEN", `is required when ADMIN_PORT is set (at least ${MIN_ADMIN_TOKEN_LENGTH} characters)`);
  }
  // A device is only noticed offline after DEVICE_OFFLINE_AFTER_S: a grace no longer than that would
  // slash a device for the first heartbeats it missed.
  if (env.VANISH_GRACE_S <= env.DEVICE_OFFLINE_AFTER_S) {
    throw new EnvError("VANISH_GRACE_S", `must be longer than DEVICE_OFFLINE_AFTER_S (${env.DEVICE_OFFLINE_AFTER_S})`);
  }
  // Chain steps sign with server keys: with a chain configured, both keys must be named.
  if (env.SOLANA_RPC_URL !== undefined) {
    for (const field of ["SETTLEMENT_AUTHORITY_KEYPAIR", "REWARDS_AUTHORITY_KEYPAIR"] as const) {
      if (env[field] === undefined) throw new EnvError(field, "is required when SOLANA_RPC_URL is set (a keypair file, or `dev` on localnet)");
    }
  }
  const workloadSecretsKey = secretKeyFromEnv("WORKLOAD_SECRETS_KEY", env.WORKLOAD_SECRETS_KEY, env.NODE_ENV === "production" && "in production");
  return { ...env, WORKLOAD_SECRETS_KEY: workloadSecretsKey };
}
