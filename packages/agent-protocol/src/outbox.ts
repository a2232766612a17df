import type { GemmChallenge, GemmCommitment, GemmOpening, GemmRowRequest } from "@gpumesh/core";
import type { Redis } from "ioredis";
import { z } from "zod";
import { AgentAssignment, RayHeadMessage, type OutboxMessage } from "./messages.ts";

/**
 * What the scheduler has for each device until its agent answers, kept in Redis so that any gateway
 * process can deliver it and a reconnecting agent gets it again (durable delivery). One hash per
 * device, one field per open item:
 *
 *   assign:<allocationId>  until the agent acks or refuses it, or the scheduler revokes it
 *   revoke:<allocationId>  until the agent confirms it stopped
 *   challenge:<id>         until the commitment arrives (or the deadline passes)
 *   rows:<id>              until the opening arrives (or the deadline passes)
 *   ray-head:<allocationId> a Ray worker's head address, until the worker allocation is revoked (a
 *                          newer head overwrites it; nothing answers it, it is sent on every connection)
 *
 * A change is announced on one pub/sub channel (the device id as payload); gateways holding that
 * device's connection send what it has not seen. Answers are taken out of the hash and appended to
 * the inbox stream in one script, so an answer is either recorded once for the scheduler or not at
 * all, and only an item that is in *this device's* outbox can be answered: an agent cannot ack,
 * refuse or answer for another device, or for something never sent to it.
 */
export interface GatewayKeys {
  outbox(deviceId: string): string;
  notify: string;
  inbox: string;
  live: string;
  /** Which connection holds a device (one connection per device across all gateways). */
  holder(deviceId: string): string;
  /** Announces a new holder so an older connection elsewhere closes. */
  takeover: string;
  /** What an allocation's agent reported of how to reach it: a hash of endpoint kind → url. */
  endpoints(allocationId: string): string;
}

export function gatewayKeys(prefix = "gw"): GatewayKeys {
  return {
    outbox: (deviceId) => `${prefix}:outbox:${deviceId}`,
    notify: `${prefix}:notify`,
    inbox: `${prefix}:inbox`,
    live: `${prefix}:live`,
    holder: (deviceId) => `${prefix}:holder:${deviceId}`,
    takeover: `${prefix}:takeover`,
    endpoints: (allocationId) => `${prefix}:endpoints:${allocationId}`,
  };
}

/** An agent's answer, as the scheduler reads it from the inbox. `at`/`receivedAt` are gateway time. */
export type InboxEntry =
  | { kind: "response"; response: { allocationId: string; clusterId: string; deviceId: string; accepted: boolean; reason?: string; at: string } }
  | { kind: "commitment"; commitment: GemmCommitment; receivedAt: string }
  | { kind: "opening"; opening: GemmOpening; receivedAt: string };

/**
 * Cap of the inbox stream. Trimming drops the oldest entries whether read or not, so the cap is the
 * backlog a stopped scheduler can come back to: 2M answers is hours of a million devices' challenges
 * (2 answers per challenge, 1 challenge per device per hour) and a few hundred MB of Redis at most.
 */
const INBOX_MAX_LENGTH = 2_000_000;

/** How long a row request waits for its opening (well above any VERIFY_DEADLINE_S in use). */
const ROWS_TTL_MS = 15 * 60_000;

// Assign unless a revoke for the same allocation is already there (a revoked allocation never comes back);
// a Ray worker's head address (ARGV[5], ARGV[6]) goes in with it when the head has reported one already.
const ASSIGN = `
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], ARGV[5], ARGV[6]) end
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1`;
// A Ray worker's head address, unless the worker allocation was revoked.
const RAY_HEAD = `
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1`;
// Revoke: the assignment (if not yet answered) and a Ray head address go, the revoke stays until confirmed.
const REVOKE = `
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[5])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1`;
// Answer: only an item in this device's outbox, taken out and (when there is one) recorded, atomically.
const ANSWER = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[2]) end
return 1`;

export class AgentOutbox {
  readonly keys: GatewayKeys;

  constructor(
    private readonly redis: Redis,
    prefix = "gw",
  ) {
    this.keys = gatewayKeys(prefix);
  }

  // ── the scheduler's side ────────────────────────────────────────────────────────────────────────
  /**
   * False when the allocation was already revoked (nothing is sent). A Ray worker's assignment takes
   * its head's address along when the head has reported it already (a worker placed after the head
   * started, or one replacing a lost worker); otherwise the gateway sends it when the head reports.
   * The head's report is recorded before the gateway reads the workers, and a worker's allocation is
   * committed before it is assigned, so either this read or the gateway's finds the other.
   */
  async assign(deviceId: string, assignment: AgentAssignment): Promise<boolean> {
    const message: OutboxMessage = { type: "assign", assignment: AgentAssignment.parse(assignment) };
    const ray = assignment.ray;
    const address = ray?.role === "worker" ? await this.redis.hget(this.keys.endpoints(ray.headAllocationId), "ray-head") : null;
    const parsedHead = ray?.role === "worker" && address ? RayHeadMessage.safeParse({ type: "ray-head", allocationId: assignment.allocationId, headAllocationId: ray.headAllocationId, address }).data : undefined;
    const head = parsedHead ? { ...parsedHead, expiresAt: Date.parse(assignment.endsAt) } : undefined;
    const added = await this.redis.eval(
      ASSIGN, 2, this.keys.outbox(deviceId), this.keys.notify,
      `assign:${assignment.allocationId}`, JSON.stringify(message), `revoke:${assignment.allocationId}`, deviceId,
      head ? `ray-head:${assignment.allocationId}` : "", head ? JSON.stringify(head) : "",
    );
    return added === 1;
  }

  /**
   * Tells a Ray worker where its head is (overwriting an older head's address); false if it was revoked.
   * Kept until the worker's lease ends (`endsAt`) at the latest: a worker released without a revoke
   * (its device went offline, or it refused) would otherwise leave it in the outbox for good.
   */
  async rayHead(deviceId: string, message: { allocationId: string; headAllocationId: string; address: string; endsAt: Date }): Promise<boolean> {
    const { endsAt, ...fields } = message;
    const item = { ...RayHeadMessage.parse({ type: "ray-head", ...fields }), expiresAt: endsAt.getTime() } as OutboxMessage;
    const added = await this.redis.eval(RAY_HEAD, 2, this.keys.outbox(deviceId), this.keys.notify, `ray-head:${message.allocationId}`, JSON.stringify(item), `revoke:${message.allocationId}`, deviceId);
    return added === 1;
  }

  async revoke(deviceId: string, allocationId: string, reason: string): Promise<void> {
    const message: OutboxMessage = { type: "revoke", allocationId, reason: reason.slice(0, 200) };
    await this.redis.eval(REVOKE, 2, this.keys.outbox(deviceId), this.keys.notify, `assign:${allocationId}`, `revoke:${allocationId}`, JSON.stringify(message), deviceId, `ray-head:${allocationId}`);
  }

  async challenge(deviceId: string, challenge: GemmChallenge): Promise<void> {
    await this.put(deviceId, `challenge:${challenge.challengeId}`, { type: "challenge", challenge });
  }

  async requestRows(deviceId: string, request: GemmRowRequest): Promise<void> {
    // Row requests carry no deadline of their own: stamped, and dropped after ROWS_TTL_MS (an agent
    // that restarted after committing has lost its result and never answers; its challenge expires).
    await this.put(deviceId, `rows:${request.challengeId}`, { type: "rows", request, storedAt: Date.now() } as OutboxMessage);
  }

  /** A removed device: nothing of it is delivered any more. */
  async clear(deviceId: string): Promise<void> {
    await this.redis.del(this.keys.outbox(deviceId));
  }

  private async put(deviceId: string, field: string, message: OutboxMessage): Promise<void> {
    await this.redis.multi().hset(this.keys.outbox(deviceId), field, JSON.stringify(message)).publish(this.keys.notify, deviceId).exec();
  }

  // ── the gateway's side ──────────────────────────────────────────────────────────────────────────
  /**
   * Everything open for the device, revokes first (an agent must stop old work before it is given
   * new work). Challenges past their deadline are dropped instead of sent.
   */
  async pending(deviceId: string, now = new Date()): Promise<{ field: string; message: OutboxMessage }[]> {
    const all = await this.redis.hgetall(this.keys.outbox(deviceId));
    const items: { field: string; message: OutboxMessage }[] = [];
    const expired: string[] = [];
    for (const [field, raw] of Object.entries(all)) {
      const message = JSON.parse(raw) as OutboxMessage & { storedAt?: number; expiresAt?: number };
      const deadline =
        message.type === "challenge" ? Date.parse(message.challenge.deadlineAt)
        : message.type === "rows" && message.storedAt ? message.storedAt + ROWS_TTL_MS
        : message.type === "ray-head" ? message.expiresAt
        : undefined;
      if (deadline !== undefined && deadline <= now.getTime()) expired.push(field);
      else items.push({ field, message });
    }
    if (expired.length) await this.redis.hdel(this.keys.outbox(deviceId), ...expired);
    // A Ray head address after the assignment it belongs to (the agent waits for it, or restarts the
    // worker against a newer head).
    const order = { revoke: 0, assign: 1, "ray-head": 2, challenge: 3, rows: 4 } as const;
    return items.sort((a, b) => order[a.message.type] - order[b.message.type] || a.field.localeCompare(b.field));
  }

  async item(deviceId: string, field: string): Promise<OutboxMessage | undefined> {
    const raw = await this.redis.hget(this.keys.outbox(deviceId), field);
    return raw ? (JSON.parse(raw) as OutboxMessage) : undefined;
  }

  /** Takes `field` out of the device's outbox and records `entry`; false when it was not there. */
  async answer(deviceId: string, field: string, entry: InboxEntry | null): Promise<boolean> {
    const done = await this.redis.eval(ANSWER, 2, this.keys.outbox(deviceId), this.keys.inbox, field, entry ? JSON.stringify(entry) : "", String(INBOX_MAX_LENGTH));
    return done === 1;
  }
}

export const InboxEntrySchema = z.object({ kind: z.enum(["response", "commitment", "opening"]) }).loose();
