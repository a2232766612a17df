import type { Db } from "./client.ts";
import { decodeCursor, encodeCursor, InvalidCursorError } from "./directory.ts";

/**
 * A device's proof-of-work checks with their evidence (seed, n, committed root, rows opened, reported
 * time, verdict: enough for anyone to re-run the verifier), newest first. The owner's device page and
 * the public explorer show the same thing, from here. Keyset pages on (device_id, issued_at).
 */
export interface DeviceCheck {
  id: string;
  kind: "CPU_GEMM" | "GPU_GEMM";
  matrixSize: number;
  seed: string;
  /** Merkle root of C's rows the agent committed to (hex); null before it answered. */
  root: string | null;
  rowsOpened: number[];
  elapsedMs: number | null;
  status: "PENDING" | "PASSED" | "FAILED" | "EXPIRED";
  failureReason: string | null;
  issuedAt: Date;
  respondedAt: Date | null;
}

export interface DeviceChecksPage {
  checks: DeviceCheck[];
  nextCursor: string | null;
}

const CURSOR_KIND = "checks";

/** Throws InvalidCursorError for a cursor of another listing. */
export async function deviceChecks(db: Db, deviceId: string, options: { limit?: number; cursor?: string } = {}): Promise<DeviceChecksPage> {
  const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? 25)), 100);
  let after = {};
  if (options.cursor) {
    const cursor = decodeCursor(CURSOR_KIND, options.cursor);
    const issuedAt = new Date(cursor.key);
    if (Number.isNaN(issuedAt.getTime())) throw new InvalidCursorError();
    after = { OR: [{ issuedAt: { lt: issuedAt } }, { issuedAt, id: { lt: cursor.id } }] };
  }
  const rows = await db.verificationChallenge.findMany({
    where: { deviceId, ...after },
    orderBy: [{ issuedAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    checks: page.map((c) => ({
      id: c.id,
      kind: c.kind,
      matrixSize: c.matrixSize,
      seed: c.seed,
      root: c.commitment,
      rowsOpened: c.sampledRows,
      elapsedMs: c.elapsedMs,
      status: c.status,
      failureReason: c.failureReason,
      issuedAt: c.issuedAt,
      respondedAt: c.respondedAt,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor(CURSOR_KIND, last.issuedAt.toISOString(), last.id) : null,
  };
}
