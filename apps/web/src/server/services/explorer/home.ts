import "server-only";
import { deployableCapacity, explorerHeadline, latestSnapshotAt, modelMarkets, modelPriceHistory, networkHistory, type CapacityFilter, type HistoryMetric, type HistoryRange } from "@gpumesh/db";
import { db } from "../../db.ts";
import { toJson } from "../../json.ts";
import { logger } from "../../logger.ts";

/**
 * The explorer home's use cases: each reads the scheduler's rollup rows (packages/db/src/explorer),
 * never the tables they summarise, so a request costs the same at 300 devices as at 100,000.
 */
export const networkHeadline = () => explorerHeadline(db);

export async function networkRegions() {
  const headline = await explorerHeadline(db);
  return { takenAt: headline.takenAt, regions: headline.byRegion };
}

export const gpuModelMarkets = () => modelMarkets(db);

export async function history(metric: HistoryMetric, range: HistoryRange) {
  return { metric, range, ...(await networkHistory(db, metric, range)) };
}

export async function modelHistory(gpuModelId: string, range: HistoryRange) {
  return { gpuModelId, range, ...(await modelPriceHistory(db, gpuModelId, range)) };
}

export const capacity = (filter: CapacityFilter) => deployableCapacity(db, filter);

/** How often the stream checks for a new snapshot: one primary-key read of the newest row. */
const POLL_MS = 5_000;
const PING_MS = 15_000;

/**
 * The explorer's live feed (server-sent events): `event: network` with the headline at once and after
 * every new rollup (the scheduler takes one every EXPLORER_EVERY_S), `: ping` comments in between so
 * proxies keep the connection; closed when the client goes away.
 */
export async function streamNetwork(signal: AbortSignal): Promise<Response> {
  const first = await explorerHeadline(db);
  const encoder = new TextEncoder();
  let cleanup = () => undefined as void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let lastAt = first.takenAt?.getTime() ?? null;
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const push = async () => {
        if (closed) return;
        try {
          const at = (await latestSnapshotAt(db))?.getTime() ?? null;
          if (at === lastAt) return;
          lastAt = at;
          send(`event: network\ndata: ${toJson(await explorerHeadline(db))}\n\n`);
        } catch (error) {
          logger.warn({ err: error }, "network stream read failed");
          send(`event: problem\ndata: ${JSON.stringify({ message: "live updates paused; retrying" })}\n\n`);
        }
      };
      const poll = setInterval(() => void push(), POLL_MS);
      const ping = setInterval(() => send(`: ping\n\n`), PING_MS);
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(poll);
        clearInterval(ping);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      cleanup = close;
      signal.addEventListener("abort", close);
      send(`retry: 3000\nevent: network\ndata: ${toJson(first)}\n\n`);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive", "x-accel-buffering": "no" } });
}
