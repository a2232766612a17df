import "server-only";
import { clusterEventChannel } from "@gpumesh/core";
import { Redis } from "ioredis";
import { env } from "../../../env.ts";
import { logger } from "../../logger.ts";

/**
 * One Redis subscriber per server process, fanned out to every open event stream of a cluster. A
 * message only says "this cluster changed": streams then re-read Postgres (the truth), so a message
 * lost while a stream reconnects costs nothing but a poll's delay.
 */
type Listener = () => void;
const listeners = new Map<string, Set<Listener>>();
const globalForEvents = globalThis as unknown as { gpumeshSubscriber?: Redis };

function subscriber(): Redis {
  if (!globalForEvents.gpumeshSubscriber) {
    const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    redis.on("error", (error) => logger.debug({ err: error }, "cluster event subscriber error"));
    redis.on("message", (channel: string) => {
      const clusterId = channel.slice("cluster:".length);
      for (const listener of listeners.get(clusterId) ?? []) listener();
    });
    globalForEvents.gpumeshSubscriber = redis;
  }
  return globalForEvents.gpumeshSubscriber;
}

/** Calls `listener` whenever the scheduler publishes a change of `clusterId`; returns the unsubscribe. */
export function onClusterChange(clusterId: string, listener: Listener): () => void {
  let set = listeners.get(clusterId);
  if (!set) {
    set = new Set();
    listeners.set(clusterId, set);
    void subscriber().subscribe(clusterEventChannel(clusterId)).catch((error: unknown) => logger.warn({ err: error }, "subscribe failed; the stream falls back to polling"));
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) {
      listeners.delete(clusterId);
      void subscriber().unsubscribe(clusterEventChannel(clusterId)).catch(() => undefined);
    }
  };
}
