import { writeHeartbeatTimes, type Db } from "@gpumesh/db";

/**
 * Postgres sees heartbeats in rollups: the latest beat per device heartbeating on this gateway,
 * written every ROLLUP_EVERY_S in one statement (writeHeartbeatTimes: forward-only, never a status
 * change, never a removed device). Devices of the batch the statement did not find (removed since)
 * are reported to `onGone`, so their connections close even if the removal's notice was lost.
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
    private readonly onGone: (deviceIds: string[]) => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  note(deviceId: string, at: Date): void {
    this.latest.set(deviceId, at);
  }

  /** A drained or removed device: its pending beat is dropped. */
  forget(deviceId: string): void {
    this.latest.delete(deviceId);
  }

  async flush(): Promise<number> {
    const batch = [...this.latest].map(([deviceId, at]) => ({ deviceId, at })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
    this.latest = new Map();
    const write = this.inflight.then(async () => {
      if (!batch.length) return 0;
      const updated = new Set(await writeHeartbeatTimes(this.db, batch));
      const gone = batch.filter((beat) => !updated.has(beat.deviceId)).map((beat) => beat.deviceId);
      if (gone.length) this.onGone(gone);
      return updated.size;
    });
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
