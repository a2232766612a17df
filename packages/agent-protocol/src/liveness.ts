import type { Redis } from "ioredis";
import { gatewayKeys } from "./outbox.ts";

/**
 * Liveness in Redis: one sorted set, device id → last heartbeat (gateway clock, ms). A heartbeat is a
 * ZADD, so the hot path never touches Postgres; the gateway writes `last_heartbeat_at` in rollups
 * (gateway/src/rollup.ts), and the online/offline transitions are written when they happen.
 */
export class Liveness {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix = "gw",
  ) {
    this.key = gatewayKeys(prefix).live;
  }

  async beat(beats: readonly { deviceId: string; at: number }[]): Promise<void> {
    if (beats.length === 0) return;
    const args: (string | number)[] = [];
    // GT: a late, reordered write never moves a device's time back.
    for (const beat of beats) args.push(beat.at, beat.deviceId);
    await this.redis.zadd(this.key, "GT", ...args);
  }

  async lastSeen(deviceId: string): Promise<number | undefined> {
    const score = await this.redis.zscore(this.key, deviceId);
    return score === null ? undefined : Number(score);
  }

  /** Devices whose last heartbeat is older than `before` (ms), oldest first. */
  async silentSince(before: number, limit = 10_000): Promise<string[]> {
    return this.redis.zrangebyscore(this.key, "-inf", `(${before}`, "LIMIT", 0, limit);
  }

  async forget(deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length) await this.redis.zrem(this.key, ...deviceIds);
  }
}
