import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { gatewayKeys, type InboxEntry } from "./outbox.ts";

/**
 * The scheduler's end of the inbox stream: agents' answers (acks, refusals, commitments, openings)
 * that gateways appended. A consumer group, so several scheduler processes share the work and an
 * entry is acknowledged only after the handler (which turns it into a durable BullMQ job) returned;
 * entries a crashed consumer had read are claimed by a live one after `claimIdleMs`.
 */
const MAX_ATTEMPTS = 10;

export class AgentInbox {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly key: string;
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;

  constructor(
    /** A connection of its own: the reads block. */
    private readonly redis: Redis,
    private readonly options: { prefix?: string; group?: string; claimIdleMs?: number; blockMs?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.key = gatewayKeys(options.prefix).inbox;
  }

  private get group(): string {
    return this.options.group ?? "scheduler";
  }

  start(handler: (entry: InboxEntry) => Promise<unknown>): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run(handler);
  }

  private async run(handler: (entry: InboxEntry) => Promise<unknown>): Promise<void> {
    let lastClaim = 0;
    let cursor = "0-0";
    while (this.running) {
      try {
        await this.ensureGroup();
        const claimIdleMs = this.options.claimIdleMs ?? 30_000;
        if (Date.now() - lastClaim > claimIdleMs / 2) {
          lastClaim = Date.now();
          // The cursor walks the whole pending list across passes (back to 0-0 when it wraps), so an
          // entry that keeps failing does not hide the ones behind it.
          const [next, claimed] = (await this.redis.xautoclaim(this.key, this.group, this.consumer, claimIdleMs, cursor, "COUNT", 100)) as [string, [string, string[]][]];
          cursor = next;
          await this.handle(claimed, handler);
        }
        const read = (await this.redis.xreadgroup("GROUP", this.group, this.consumer, "COUNT", 200, "BLOCK", this.options.blockMs ?? 1_000, "STREAMS", this.key, ">")) as
          | [string, [string, string[]][]][]
          | null;
        if (read) for (const [, entries] of read) await this.handle(entries, handler);
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private groupReady = false;
  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // From the start of the stream: answers appended before any scheduler ran are not lost.
      await this.redis.xgroup("CREATE", this.key, this.group, "0", "MKSTREAM");
    } catch (error) {
      if (!String(error).includes("BUSYGROUP")) throw error;
    }
    this.groupReady = true;
  }

  /** Failed attempts per entry id (this process); after MAX_ATTEMPTS the entry is given up, loudly. */
  private readonly failures = new Map<string, number>();

  private async handle(entries: [string, string[]][], handler: (entry: InboxEntry) => Promise<unknown>): Promise<void> {
    for (const [id, fields] of entries) {
      const raw = fields[fields.indexOf("m") + 1];
      let entry: InboxEntry | undefined;
      try {
        entry = raw ? (JSON.parse(raw) as InboxEntry) : undefined;
      } catch {
        entry = undefined;
      }
      // A malformed entry is acknowledged (it would fail forever); a handler error leaves it pending
      // for a later claim, each entry on its own, up to MAX_ATTEMPTS.
      if (entry) {
        try {
          await handler(entry);
        } catch (error) {
          const attempts = (this.failures.get(id) ?? 0) + 1;
          this.failures.set(id, attempts);
          if (attempts < MAX_ATTEMPTS) {
            this.options.onError?.(error);
            continue;
          }
          this.options.onError?.(new Error(`inbox entry ${id} (${entry.kind}) failed ${attempts} times; given up: ${error instanceof Error ? error.message : String(error)}`));
        }
      }
      this.failures.delete(id);
      await this.redis.xack(this.key, this.group, id);
    }
  }

  /** Stops reading; resolves within `timeoutMs` even if Redis is unreachable (a blocked read is abandoned). */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await Promise.race([this.loop?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }
}
