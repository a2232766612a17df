import "server-only";
import { toJson } from "../../json.ts";
import { logger } from "../../logger.ts";
import { getCluster } from "./get-cluster.ts";
import { onClusterChange } from "./cluster-events.ts";

const TERMINAL = new Set(["ENDED", "FAILED", "REFUNDED"]);
/** Re-read even without a message: catches a lost pub/sub message and keeps cost and time left live. */
const POLL_MS = 5_000;
const PING_MS = 15_000;

/**
 * The cluster page's live feed (server-sent events). `event: cluster` carries the whole cluster view
 * (status, nodes, timeline, receipts, cost so far); it is sent at once, after every change the
 * scheduler publishes, and every few seconds. Ownership is checked before the stream opens (404
 * otherwise). The stream closes itself a little after the cluster is over and refunded.
 */
export async function streamCluster(accountId: string, clusterId: string, signal: AbortSignal): Promise<Response> {
  const first = await getCluster(accountId, clusterId); // 404 before any byte is streamed
  const encoder = new TextEncoder();
  let cleanup = () => undefined as void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let lastSent = "";
      let terminalSince: number | null = null;
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const push = async () => {
        if (closed) return;
        try {
          const detail = await getCluster(accountId, clusterId);
          const body = toJson(detail);
          if (body !== lastSent) {
            lastSent = body;
            send(`event: cluster\ndata: ${body}\n\n`);
          }
          if (TERMINAL.has(detail.status)) {
            terminalSince ??= Date.now();
            // Refund receipts arrive shortly after the end (the chain indexer): keep streaming a while.
            if (Date.now() - terminalSince > 60_000) close();
          }
        } catch (error) {
          logger.warn({ err: error, clusterId }, "cluster stream read failed");
          send(`event: problem\ndata: ${JSON.stringify({ message: "live updates paused; retrying" })}\n\n`);
        }
      };
      const poll = setInterval(() => void push(), POLL_MS);
      const ping = setInterval(() => send(`: ping\n\n`), PING_MS);
      const unsubscribe = onClusterChange(clusterId, () => void push());
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(poll);
        clearInterval(ping);
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      cleanup = close;
      signal.addEventListener("abort", close);
      lastSent = toJson(first);
      send(`retry: 3000\nevent: cluster\ndata: ${lastSent}\n\n`);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive", "x-accel-buffering": "no" } });
}
