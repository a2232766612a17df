// One simulated renter: the same calls a person's script makes against the public API, with its own
// funded dev wallet signing every transaction. It quotes, pays (open_lease), sometimes buys another
// hour (extend_lease), and terminates when it is done, or lets the lease run out.
import type { SeededRandom } from "@gpumesh/core";
import { ApiRefusal, type ApiClient } from "./client.ts";
import { planRental, type DemandSettings, type Market } from "./policy.ts";

interface HeldQuote {
  clusterId: string;
}
interface Order {
  transaction: string;
  amount: string;
}
interface Paid {
  clusterId: string;
  signature: string;
  amount: string;
  status: string;
}
export interface ClusterView {
  id: string;
  status: string;
  receipts: { kind: string; amount: string; signature: string }[];
}

export const TERMINAL = new Set(["ENDED", "FAILED", "REFUNDED"]);
const RUNNING = new Set(["RUNNING", "DEGRADED"]);

interface Held {
  clusterId: string;
  startedAt: number;
  keepForMs: number;
  extend: boolean;
  endRequested: boolean;
}

export type Say = (line: string) => void;

export class SimulatedRenter {
  private readonly held = new Map<string, Held>();

  constructor(
    readonly api: ApiClient,
    private readonly random: SeededRandom,
    private readonly say: Say,
    private readonly settings?: DemandSettings,
  ) {}

  get holding(): number {
    return this.held.size;
  }

  /**
   * Quotes the first market of `attempts` that can serve the rental and pays for it: the server builds
   * open_lease, this wallet signs it, the server checks and submits it. A 409 NO_CAPACITY (someone took
   * the devices first) moves to the next market.
   */
  async rent(request: { gpuCount: number; durationHours: number; attempts: { gpuModelIds: string[]; regions: string[] }[] }): Promise<Paid | null> {
    for (const attempt of request.attempts) {
      let quote: HeldQuote;
      try {
        quote = await this.api.post<HeldQuote>("/api/v1/quotes", { name: `sim ${request.gpuCount}×GPU`, type: "CONTAINER", gpuCount: request.gpuCount, durationHours: request.durationHours, ...attempt });
      } catch (error) {
        if (error instanceof ApiRefusal && error.code === "NO_CAPACITY") continue;
        throw error;
      }
      const order = await this.api.post<Order>(`/api/v1/quotes/${quote.clusterId}/transaction`);
      return this.api.post<Paid>(`/api/v1/quotes/${quote.clusterId}/payment`, { transaction: this.api.sign(order.transaction) });
    }
    return null;
  }

  /** Buys `hours` more at the same price: the server builds extend_lease, this wallet signs it. */
  async extend(clusterId: string, hours = 1): Promise<void> {
    const order = await this.api.post<Order>(`/api/v1/clusters/${clusterId}/extension/transaction`, { hours });
    await this.api.post(`/api/v1/clusters/${clusterId}/extension`, { hours, transaction: this.api.sign(order.transaction) });
  }

  cluster(clusterId: string): Promise<ClusterView> {
    return this.api.get<ClusterView>(`/api/v1/clusters/${clusterId}`);
  }

  terminate(clusterId: string): Promise<unknown> {
    return this.api.post(`/api/v1/clusters/${clusterId}/terminate`);
  }

  /** One step of the renter's life: look after what it holds, then maybe rent something new. */
  async step(now = Date.now()): Promise<void> {
    for (const held of [...this.held.values()]) await this.tend(held, now);
    const { markets } = await this.api.get<{ markets: Market[] }>("/api/v1/availability");
    const plan = planRental(markets, this.held.size, this.random, this.settings);
    if ("skip" in plan) return;
    const paid = await this.rent(plan);
    if (!paid) return;
    this.held.set(paid.clusterId, { clusterId: paid.clusterId, startedAt: now, keepForMs: plan.keepForMs, extend: plan.extend, endRequested: false });
    this.say(`rented ${plan.gpuCount} GPU${plan.gpuCount === 1 ? "" : "s"} for ${plan.durationHours} h: cluster ${paid.clusterId}, paid ${paid.amount} (tx ${paid.signature.slice(0, 12)}…)`);
  }

  private async tend(held: Held, now: number): Promise<void> {
    let view: ClusterView;
    try {
      view = await this.cluster(held.clusterId);
    } catch (error) {
      // A dev database reset under a running generator: forget clusters that no longer exist.
      if (error instanceof ApiRefusal && error.status === 404) this.held.delete(held.clusterId);
      else throw error;
      return;
    }
    if (TERMINAL.has(view.status)) {
      this.held.delete(held.clusterId);
      this.say(`cluster ${held.clusterId} ${view.status.toLowerCase()}`);
      return;
    }
    if (!RUNNING.has(view.status) || held.endRequested) return;
    if (held.extend && now - held.startedAt > held.keepForMs / 2) {
      held.extend = false;
      await this.extend(held.clusterId);
      this.say(`extended cluster ${held.clusterId} by 1 h`);
    }
    if (now - held.startedAt >= held.keepForMs) {
      held.endRequested = true;
      await this.terminate(held.clusterId);
      this.say(`terminated cluster ${held.clusterId}`);
    }
  }
}

/** Polls the cluster until `done` holds or `timeoutMs` passes (then throws with the last status). */
export async function waitForCluster(renter: SimulatedRenter, clusterId: string, done: (view: ClusterView) => boolean, timeoutMs: number): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await renter.cluster(clusterId);
    if (done(view)) return view;
    if (Date.now() > deadline) throw new Error(`cluster ${clusterId} still ${view.status} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

export { RUNNING as RUNNING_STATES };
