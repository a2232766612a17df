import type { Db } from "./client.ts";

/**
 * Heartbeat ingest. Agents heartbeat every few seconds, so a network of 100k devices sends tens of
 * thousands per second: one UPDATE per heartbeat would not keep up. `HeartbeatBatcher` coalesces
 * heartbeats in memory (the latest per device wins) and writes them in one statement per batch;
 * `record()` resolves once its heartbeat is in Postgres, so a caller that acks the agent after it
 * never acks a heartbeat that could be lost.
 */
export interface Heartbeat {
  deviceId: string;
  at: Date;
}

/**
 * Writes a batch: last_heartbeat_at only moves forward (a late, reordered batch cannot move it back),
 * and an OFFLINE device that heartbeats is ONLINE again. REGISTERED (not yet verified) and SUSPENDED
 * devices keep their status. Returns how many devices were updated.
 */
export async function writeHeartbeats(db: Db, beats: readonly Heartbeat[]): Promise<number> {
  if (beats.length === 0) return 0;
  // Row locks are taken in device-id order first (the sorted, materialized FOR UPDATE below): the
  // UPDATE's own join order depends on the plan (a seq scan locks in physical order, an index loop in
  // id order), so two batches in flight with different plans could otherwise deadlock.
  return db.$executeRaw`
    with b as (select * from unnest(${beats.map((b) => b.deviceId)}::uuid[], ${beats.map((b) => b.at)}::timestamptz[]) as b(id, at)),
         locked as materialized (select x.id from device x where x.id in (select id from b) order by x.id for update of x)
    update device d
       set last_heartbeat_at = greatest(d.last_heartbeat_at, b.at),
           status = case when d.status = 'OFFLINE' then 'ONLINE'::"DeviceStatus" else d.status end
      from locked l join b on b.id = l.id
     where d.id = l.id`;
}

export class HeartbeatBatcher {
  private pending = new Map<string, Date>();
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly db: Db,
    private readonly options: { maxBatch?: number; maxDelayMs?: number; concurrency?: number } = {},
  ) {}

  /** Queues a heartbeat; resolves when it (or a later one of the same device) is written. */
  record(deviceId: string, at: Date = new Date()): Promise<void> {
    const previous = this.pending.get(deviceId);
    if (!previous || previous < at) this.pending.set(deviceId, at);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.pending.size >= (this.options.maxBatch ?? 5_000)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs ?? 25);
    return done;
  }

  /**
   * Starts writing what is pending, with up to `concurrency` batches in flight (default 2): one batch
   * fills while the other commits. Rows are locked in device-id order (writeHeartbeats), so two batches touching the
   * same devices lock them in the same order and cannot deadlock; `greatest()` keeps the result right
   * whichever commits first.
   */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0 || this.writing >= (this.options.concurrency ?? 2)) return;
    const batch = [...this.pending].map(([deviceId, at]) => ({ deviceId, at })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    this.writing++;
    void writeHeartbeats(this.db, batch)
      .then(
        () => waiters.forEach((w) => w.resolve()),
        (error: unknown) => waiters.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.writing--;
        if (this.pending.size > 0) this.flush();
        else if (this.writing === 0) for (const resolve of this.idle) resolve();
      });
  }

  /** Writes everything pending and resolves when nothing is in flight. */
  async drain(): Promise<void> {
    this.flush();
    if (this.writing === 0 && this.pending.size === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}

/**
 * The gateway's rollup: moves `last_heartbeat_at` forward and nothing else. It never changes a status
 * (a device drained or removed since its last beat must not come back ONLINE through a late rollup;
 * the online transition is written when an agent authenticates: `markAgentOnline`), and it skips
 * devices whose key was removed. Returns the ids it updated, so the gateway can close the connections
 * of devices that are no longer there.
 */
export async function writeHeartbeatTimes(db: Db, beats: readonly Heartbeat[]): Promise<string[]> {
  if (beats.length === 0) return [];
  const rows = await db.$queryRaw<{ id: string }[]>`
    with b as (select * from unnest(${beats.map((b) => b.deviceId)}::uuid[], ${beats.map((b) => b.at)}::timestamptz[]) as b(id, at)),
         locked as materialized (select x.id from device x where x.id in (select id from b) and x.agent_public_key is not null order by x.id for update of x)
    update device d
       set last_heartbeat_at = greatest(d.last_heartbeat_at, b.at)
      from locked l join b on b.id = l.id
     where d.id = l.id
    returning d.id::text`;
  return rows.map((row) => row.id);
}

/**
 * An agent authenticated with `publicKey`: OFFLINE → ONLINE with this time (REGISTERED and SUSPENDED
 * keep theirs), only while the device still has that key. False when the key was removed meanwhile.
 * A never-verified REGISTERED device becomes due for its first challenge now. `runsImages`: what the
 * agent said of its runtime on this connection (placement gives workloads only devices that run images).
 */
export async function markAgentOnline(db: Db, deviceId: string, publicKey: string, at: Date, runsImages: boolean): Promise<boolean> {
  const updated = await db.$executeRaw`
    update device
       set last_heartbeat_at = greatest(last_heartbeat_at, ${at}),
           runs_images = ${runsImages},
           status = case when status = 'OFFLINE' then 'ONLINE'::"DeviceStatus" else status end,
           -- A device waiting for its first proof of work is due at once when its agent shows up.
           next_challenge_at = case when status = 'REGISTERED' and verified_at is null then least(next_challenge_at, ${at}) else next_challenge_at end
     where id = ${deviceId}::uuid and agent_public_key = ${publicKey}`;
  return updated > 0;
}
