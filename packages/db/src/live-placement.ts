import { PlacementIndex, type DeviceState, type PlacementDevice } from "@gpumesh/core";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { placementRequest, type PlacementOutcome, type PlacementQuery } from "./placement.ts";

/**
 * The scheduler's in-memory placement index, kept in step with Postgres by the placement feed
 * (migration 20261201100500_placement_feed): a trigger names the device of every committed change that
 * can move it in or out of the free set (an allocation taken or released, a device going on- or
 * offline, its price, score or hardware changing) on channel `gpumesh_placement`; this class LISTENs,
 * collects the named devices and re-reads just those, in one query per batch. A placement is then a
 * walk of core's PlacementIndex (O(log n), no read) instead of a candidate read per deploy round
 * (`loadCandidates`, which probes every device of the asked markets).
 *
 * Postgres stays the truth. The index may be a few milliseconds behind another process's commit: the
 * reservation (advisory try-lock, pre-check, exclusion constraint) then refuses the device, the caller
 * marks it taken here and places again. Nothing is ever reserved on the index's word alone.
 *
 * Start-up is LISTEN first, then the full read, then a re-read of every device named meanwhile: a
 * change committed at any time is either in the full read or re-read after it. A lost listener
 * connection makes the index not ready (callers fall back to reading candidates) until it has
 * reconnected and read everything again.
 *
 * Taken means: an ACTIVE allocation that has not ended. The candidate read asks "overlaps the new
 * window", which frees a device the moment its allocation's end passes; here it is free once the lease
 * end (or quote expiry) sweep releases the allocation, at most one sweep later: conservative, never a
 * double booking.
 */
export const PLACEMENT_CHANNEL = "gpumesh_placement";
/** Payload prefix of a new ACTIVE allocation: the device is taken, nothing to read. */
const TAKEN = "taken:";

export interface LivePlacementOptions {
  url: string;
  /** Devices below this verification score are never placed (the scheduler's DEPLOY_MIN_VERIFICATION_BPS). */
  minVerificationScoreBps: number;
  /** Re-reads named devices at most this often (coalescing a burst of commits into one query). */
  refreshEveryMs?: number;
  /** Rows per page of the start-up read. */
  pageSize?: number;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** A placement held in this process while its reservation is in flight (other jobs here will not pick it). */
export interface HeldPlacement {
  ok: true;
  devices: Extract<PlacementOutcome, { ok: true }>["devices"];
  /** Lets other jobs of this process see the devices again (call once the reservation settled). */
  release(): void;
}

/** Columns of one device as the index needs them; `taken`: it holds an ACTIVE allocation not yet ended. */
const DEVICE_COLUMNS = `d.id::text, d.supplier_id::text, d.city, d.gpu_model_id, d.gpu_count, d.vram_gb, d.region, d.connectivity_tier::text,
  d.security_tier::text, d.network::text, d.price_per_gpu_hour::text, d.verification_score_bps, d.status::text = 'ONLINE',
  exists (select 1 from allocation a where a.device_id = d.id and a.status::text = 'ACTIVE' and a.ends_at > now()), d.runs_images, d.paused_at is not null`;

type DeviceRow = [
  id: string, supplierId: string, city: string, gpuModelId: string | null, gpuCount: number, vramGb: number, region: string,
  connectivityTier: PlacementDevice["connectivityTier"], securityTier: PlacementDevice["securityTier"], network: PlacementDevice["network"],
  price: string, score: number, online: boolean, taken: boolean, runsImages: boolean, paused: boolean,
];

/** Placement may offer it: ONLINE and not paused by its supplier. */
const rentable = (row: DeviceRow) => row[12] && !row[15];

const marketKey = (gpuModelId: string, region: string) => `${gpuModelId}|${region}`;

/** Whether a device's GPUs count as its market's supply (as in quotes.ts availability): ONLINE, and not paused unless it serves a lease. */
const supplies = (fact: { online: boolean; paused: boolean; busy: boolean }) => fact.online && (!fact.paused || fact.busy);

function toDevice(row: DeviceRow): PlacementDevice {
  const [id, supplierId, city, gpuModelId, gpuCount, vramGb, region, connectivityTier, securityTier, network, price, score] = row;
  return {
    id, supplierId, siteKey: `${supplierId}:${city}`, gpuModelId, gpuCount, vramGb, region, connectivityTier, securityTier, network,
    runsImages: row[14], pricePerGpuHour: BigInt(price), verificationScoreBps: score,
    // As in parseCandidates: no uptime history is stored yet, every device ranks equal on it.
    uptimeBps: 10_000,
  };
}

export class LivePlacement {
  private index: PlacementIndex | null = null;
  /** Devices Postgres says are taken (as of their last read, or a reservation this process saw commit). */
  private readonly taken = new Set<string>();
  /** Devices this process's own in-flight reservations hold: count of holders. */
  private readonly holds = new Map<string, number>();
  private dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private listener: pg.Client | null = null;
  private readonly reader: pg.Pool;
  private closed = false;
  private generation = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly waiting = new Map<string, () => void>();
  private readonly holdWaiters = new Set<() => void>();
  /** What each device adds to its market's load (online GPUs, busy GPUs), and the sums per market. */
  private readonly facts = new Map<string, { market: string; gpus: number; online: boolean; paused: boolean; busy: boolean }>();
  private readonly loads = new Map<string, { onlineGpus: number; busyGpus: number }>();
  /** Devices re-read since start (a figure for metrics and tests). */
  refreshed = 0;

  constructor(private readonly options: LivePlacementOptions) {
    this.reader = new pg.Pool({ connectionString: options.url, max: 1 });
    // A dropped idle connection must not crash the process; the next query opens a new one.
    this.reader.on("error", () => undefined);
  }

  /** True once the index holds every device and the feed is live. */
  get ready(): boolean {
    return this.index !== null;
  }

  /** The verification floor the index applies (a caller asking another floor must read candidates). */
  get minVerificationScoreBps(): number {
    return this.options.minVerificationScoreBps;
  }

  get deviceCount(): number {
    return this.index?.deviceCount ?? 0;
  }

  /** Starts listening and loads every device; resolves once ready. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    const listener = new pg.Client({ connectionString: this.options.url });
    listener.on("notification", (message) => {
      if (message.channel !== PLACEMENT_CHANNEL || !message.payload || generation !== this.generation) return;
      const marker = this.waiting.get(message.payload);
      if (marker) {
        this.waiting.delete(message.payload);
        marker();
        return;
      }
      if (message.payload.startsWith("sync:")) return;
      if (message.payload.startsWith(TAKEN)) {
        const id = message.payload.slice(TAKEN.length);
        this.taken.add(id);
        this.recount(id);
        if (this.index) this.sync(this.index, [id]);
        // A read in flight may have seen it free: name it, so that read skips it and the next one reads it.
        if (this.flushing || !this.index) this.dirty.add(id);
        else return;
      } else this.dirty.add(message.payload);
      this.scheduleFlush();
    });
    listener.on("error", (error) => this.lost(generation, error));
    listener.on("end", () => this.lost(generation, new Error("listener connection ended")));
    this.listener = listener;
    let index: PlacementIndex;
    try {
      await listener.connect();
      await listener.query(`listen ${PLACEMENT_CHANNEL}`);
      index = await this.loadAll();
    } catch (error) {
      // This attempt is over: its listener's late events must not start another.
      if (generation === this.generation) this.generation++;
      await listener.end().catch(() => undefined);
      throw error;
    }
    if (generation !== this.generation || this.closed) return;
    this.index = index;
    this.options.logger?.info({ devices: index.deviceCount }, "placement index loaded; following the placement feed");
    // Everything named since LISTEN may or may not be in the full read: read it again.
    if (this.dirty.size) await this.flush();
  }

  /**
   * Starts in the background and keeps trying until ready (or closed): a process that cannot load the
   * index yet (Postgres restarting) places from candidate reads meanwhile, and never stays without it.
   */
  follow(): this {
    this.start().catch((error: unknown) => {
      this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, "placement index did not load: reading candidates until it does");
      this.retryLater(1_000);
    });
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    this.index = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.flushing?.catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
    await this.reader.end().catch(() => undefined);
  }

  /**
   * Places `query` among the free devices, leaving out `exclude`, and holds the result in this process
   * until `release()`. Null when the index is not ready (read candidates instead). A failure reports
   * `contended` when only devices this process is reserving right now stood in the way.
   */
  place(query: PlacementQuery): HeldPlacement | (Extract<PlacementOutcome, { ok: false }> & { contended?: boolean }) | null {
    const index = this.index;
    if (!index) return null;
    const request = placementRequest(query);
    if (!request.ok) return request;
    const options = { seed: query.cluster.id };
    const result = this.without(index, query.excludeDeviceIds, () => index.place(request.request, options));
    if (!result.ok) {
      // Would it fit if this process's in-flight reservations all failed? Then wait for them rather than fail.
      const ownHolds = [...this.holds.keys()].filter((id) => !this.taken.has(id) && !query.excludeDeviceIds.has(id));
      const contended = ownHolds.length > 0 && this.freed(index, ownHolds, () => this.without(index, query.excludeDeviceIds, () => index.place(request.request, options).ok));
      return { ok: false, reason: result.reason.message, failure: result.reason, ...(contended ? { contended: true } : {}) };
    }
    const ids = result.devices.map((d) => d.id);
    for (const id of ids) this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    this.sync(index, ids);
    let released = false;
    return {
      ok: true,
      devices: result.devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour, gpuModelId: d.gpuModelId!, region: d.region, supplierId: d.supplierId })),
      release: () => {
        if (released) return;
        released = true;
        for (const id of ids) {
          const left = (this.holds.get(id) ?? 1) - 1;
          if (left > 0) this.holds.set(id, left);
          else this.holds.delete(id);
        }
        if (this.index) this.sync(this.index, ids);
        for (const waiter of [...this.holdWaiters]) waiter();
      },
    };
  }

  /**
   * Resolves when one of this process's in-flight reservations settles (its hold released), or after
   * `timeoutMs`: a placement that failed only because of those holds can then be tried again at once
   * instead of after a retry's backoff.
   */
  holdsSettled(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.holdWaiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** This process's own reservation of these devices committed: taken now (its `taken:` notice follows). */
  markTaken(ids: readonly string[]): void {
    for (const id of ids) {
      this.taken.add(id);
      this.recount(id);
    }
    if (this.index) this.sync(this.index, ids);
  }

  /**
   * A reservation or hold lost these devices to others (`reasons` as the reservation reported them):
   * those found reserved are taken now, and all of them are read again. The read matters even for the
   * reserved ones: the winner may have released already, and its release's notice may have arrived
   * before this call, which would otherwise leave a free device taken here until its next change.
   */
  lostRace(ids: readonly string[], reasons: Readonly<Record<string, string>>): void {
    this.markTaken(ids.filter((id) => reasons[id] === "reserved"));
    this.invalidate(ids);
  }

  /** These devices' state is in doubt (a reservation found them offline or locked): read them again. */
  invalidate(ids: readonly string[]): void {
    for (const id of ids) this.dirty.add(id);
    this.scheduleFlush();
  }

  /**
   * Waits until every change committed before this call has been read into the index: a marker sent
   * through the channel after them arrives after their names (NOTIFY is delivered in commit order).
   */
  async settled(): Promise<void> {
    if (!this.index) throw new Error("the placement index is not ready");
    const token = `sync:${randomUUID()}`;
    const arrived = new Promise<void>((resolve) => this.waiting.set(token, resolve));
    await this.reader.query("select pg_notify($1, $2)", [PLACEMENT_CHANNEL, token]);
    await arrived;
    while (this.index && (this.dirty.size || this.flushing)) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      await this.flush();
    }
  }

  /** The index's view of one device (tests, diagnostics). */
  state(id: string): DeviceState | undefined {
    return this.index?.state(id);
  }

  /**
   * A market's load as quotes price it (packages/db quotes.ts): GPUs on ONLINE devices, and those of
   * them taken now. This process's in-flight holds are not counted: nothing is committed for them.
   */
  marketLoad(gpuModelId: string, region: string): { onlineGpus: number; busyGpus: number } {
    const load = this.loads.get(marketKey(gpuModelId, region));
    return load ? { ...load } : { onlineGpus: 0, busyGpus: 0 };
  }

  // -- internals ------------------------------------------------------------------------------

  /** Replaces what device `id` adds to its market's load (null: nothing, it left). */
  private count(id: string, next: { market: string; gpus: number; online: boolean; paused: boolean } | null): void {
    const before = this.facts.get(id);
    if (before) this.addLoad(before.market, supplies(before) ? -before.gpus : 0, before.busy ? -before.gpus : 0);
    if (next === null) {
      this.facts.delete(id);
      return;
    }
    const busy = next.online && this.taken.has(id);
    const fact = { ...next, busy };
    this.facts.set(id, fact);
    this.addLoad(next.market, supplies(fact) ? next.gpus : 0, busy ? next.gpus : 0);
  }

  /** After `taken` changed for `id`: its busy GPUs follow. */
  private recount(id: string): void {
    const fact = this.facts.get(id);
    if (fact) this.count(id, fact);
  }

  private addLoad(market: string, online: number, busy: number): void {
    if (online === 0 && busy === 0) return;
    const load = this.loads.get(market) ?? { onlineGpus: 0, busyGpus: 0 };
    load.onlineGpus += online;
    load.busyGpus += busy;
    this.loads.set(market, load);
  }

  /** Runs `fn` with `ids` marked taken in the index (synchronously: no other job sees the change). */
  private without<T>(index: PlacementIndex, ids: ReadonlySet<string>, fn: () => T): T {
    const hidden: string[] = [];
    for (const id of ids) {
      const state = index.state(id);
      if (state && !state.reserved) hidden.push(id);
    }
    if (hidden.length) index.reserve(hidden);
    try {
      return fn();
    } finally {
      if (hidden.length) index.release(hidden);
    }
  }

  /** Runs `fn` with `ids` (held, not taken) marked free in the index, then holds them again. */
  private freed<T>(index: PlacementIndex, ids: readonly string[], fn: () => T): T {
    index.release(ids);
    try {
      return fn();
    } finally {
      index.reserve(ids.filter((id) => index.state(id) && !index.state(id)!.reserved));
    }
  }

  /** Makes the index's reserved flag of `ids` match taken ∪ held. */
  private sync(index: PlacementIndex, ids: readonly string[]): void {
    for (const id of ids) {
      const state = index.state(id);
      if (!state) continue;
      const reserved = this.taken.has(id) || this.holds.has(id);
      if (reserved && !state.reserved) index.reserve([id]);
      else if (!reserved && state.reserved) index.release([id]);
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed || !this.index) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush().catch((error: unknown) => this.options.logger?.warn({ err: error }, "placement feed: re-reading devices failed; retrying"));
    }, this.options.refreshEveryMs ?? 5);
  }

  /** Re-reads every device named since the last read (one at a time: a read that started before a commit misses it, so it stays named). */
  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      return;
    }
    // While (re)loading, names wait: start() reads them once the index is in place.
    if (!this.dirty.size || !this.index) return;
    const ids = [...this.dirty];
    this.dirty = new Set();
    const generation = this.generation;
    this.flushing = (async () => {
      try {
        const { rows } = await this.reader.query<DeviceRow>({ text: `select ${DEVICE_COLUMNS} from device d where d.id = any($1::uuid[])`, values: [ids], rowMode: "array" });
        if (generation !== this.generation || !this.index) {
          // A reload began meanwhile; what it reads may predate these names' commits, so keep them.
          for (const id of ids) this.dirty.add(id);
          return;
        }
        this.apply(this.index, ids, rows);
      } catch (error) {
        // Not read: keep them named, so the next flush tries again.
        for (const id of ids) this.dirty.add(id);
        throw error;
      } finally {
        this.flushing = null;
        if (this.dirty.size) this.scheduleFlush();
      }
    })();
    await this.flushing;
  }

  private apply(index: PlacementIndex, ids: readonly string[], rows: DeviceRow[]): void {
    const seen = new Set<string>();
    for (const row of rows) {
      const id = row[0];
      seen.add(id);
      // Named again while this read ran: it may predate that commit, and the next read will not.
      if (this.dirty.has(id)) continue;
      this.refreshed++;
      if (row[13]) this.taken.add(id);
      else this.taken.delete(id);
      if (row[4] <= 0 || row[3] === null) {
        index.remove(id);
        this.count(id, null);
        continue;
      }
      this.count(id, { market: marketKey(row[3], row[6]), gpus: row[4], online: row[12], paused: row[15] });
      index.upsert(toDevice(row), { online: rentable(row), reserved: this.taken.has(id) || this.holds.has(id) });
    }
    for (const id of ids) {
      if (seen.has(id) || this.dirty.has(id)) continue;
      index.remove(id);
      this.taken.delete(id);
      this.count(id, null);
    }
  }

  /** Every device with GPUs, a page at a time in id order (keyset), into a new index. */
  private async loadAll(): Promise<PlacementIndex> {
    const index = new PlacementIndex({ minVerificationScoreBps: this.options.minVerificationScoreBps });
    const devices: PlacementDevice[] = [];
    const online = new Set<string>();
    this.taken.clear();
    this.facts.clear();
    this.loads.clear();
    const pageSize = this.options.pageSize ?? 20_000;
    let after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
      const { rows } = await this.reader.query<DeviceRow>({
        text: `select ${DEVICE_COLUMNS} from device d where d.gpu_count > 0 and d.id > $1::uuid order by d.id limit $2`,
        values: [after, pageSize],
        rowMode: "array",
      });
      for (const row of rows) {
        devices.push(toDevice(row));
        if (rentable(row)) online.add(row[0]);
        if (row[13]) this.taken.add(row[0]);
        if (row[3] !== null) this.count(row[0], { market: marketKey(row[3], row[6]), gpus: row[4], online: row[12], paused: row[15] });
      }
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]![0];
    }
    index.load(devices, (device) => ({ online: online.has(device.id), reserved: this.taken.has(device.id) || this.holds.has(device.id) }));
    return index;
  }

  private lost(generation: number, error: Error): void {
    if (generation !== this.generation || this.closed) return;
    this.generation++;
    this.index = null;
    this.options.logger?.warn({ err: error.message }, "placement feed lost: placing from candidate reads until it is back");
    const listener = this.listener;
    this.listener = null;
    void listener?.end().catch(() => undefined);
    this.retryLater(1_000);
  }

  /** Starts again after `delayMs`, doubling the delay (to 30 s) while it keeps failing. */
  private retryLater(delayMs: number): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.start().catch((reason: unknown) => {
        this.options.logger?.warn({ err: reason instanceof Error ? reason.message : String(reason) }, "placement feed: start failed; retrying");
        this.retryLater(Math.min(30_000, delayMs * 2));
      });
    }, delayMs);
  }
}
