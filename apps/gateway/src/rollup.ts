import { writeHeartbeats, type Db } from "@gpumesh/db";

/**
 * Postgres sees heartbeats in rollups: the latest beat per device heartbeating on this gateway,
 * written every ROLLUP_EVERY_S in one statement (writeHeartbeats: forward-only, OFFLINE → ONLINE).
 * With 15 s beats and a 30 s rollup that is one row write per device per 30 s instead of two, in
 * one statement per gateway instead of one per beat; the per-beat truth is Redis (Liveness).
 */
export class HeartbeatRollup {
  private latest = new Map<string, Date>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly everyMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  note(deviceId: string, at: Date): void {
    this.latest.set(deviceId, at);
  }

  async flush(): Promise<number> {
    const batch = [...this.latest].map(([deviceId, at]) => ({ deviceId, at })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    this.latest = new Map();
    const write = this.inflight.then(() => (batch.length ? writeHeartbeats(this.db, batch) : 0));
    this.inflight = write.catch((error: unknown) => {
      // Not lost: the next beat of each device lands in the next rollup.
      this.onError(error);
    });
    return write.catch(() => 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
