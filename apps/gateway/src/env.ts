import { envFields, parseEnv } from "@gpumesh/core";
import { z } from "zod";

export const gatewayEnvShape = {
  DATABASE_URL: envFields.postgresUrl,
  REDIS_URL: envFields.redisUrl,
  LOG_LEVEL: envFields.logLevel,
  GATEWAY_PORT: envFields.port.default(3200),
  /** 0.0.0.0 to accept agents from other machines. */
  GATEWAY_HOST: z.string().min(1).default("127.0.0.1"),
  /** Names the network in what agents sign: a signature for another network's gateway is useless here. */
  GATEWAY_AUDIENCE: z.string().min(1).max(64).default("gpumesh-dev"),
  /** Prefix of the gateway's Redis keys (the scheduler must use the same: AGENT_GATEWAY_PREFIX). */
  GATEWAY_PREFIX: z.string().min(1).default("gw"),
  /** How often last_heartbeat_at is written to Postgres for the devices heartbeating here. */
  ROLLUP_EVERY_S: envFields.positiveInt.default(30),
  /** An agent that has not authenticated this long after connecting is disconnected. */
  AUTH_TIMEOUT_S: envFields.positiveInt.default(10),
  /**
   * `standard`: a machine below the documented minimum (docs/hardware-floor.md) is refused at join,
   * with the reasons. `none`: anything may join (a dev network, so a laptop can try the supply side).
   */
  GATEWAY_HARDWARE_FLOOR: z.enum(["standard", "none"]).default("standard"),
  /** Join attempts per minute from one IP address. */
  JOIN_RATE_PER_MINUTE: envFields.positiveInt.default(30),
};

export type GatewayEnv = ReturnType<typeof loadGatewayEnv>;

export function loadGatewayEnv(source: Record<string, string | undefined> = process.env) {
  return parseEnv(gatewayEnvShape, source);
}
