import { RAY_DASHBOARD_PORT, RAY_GCS_PORT, type OpenedAssignment, type ENDPOINT_KINDS } from "@gpumesh/agent-protocol";

export interface RunningWorkload {
  endpoints: { kind: (typeof ENDPOINT_KINDS)[number]; url: string }[];
}

export interface StartOptions {
  /** A Ray worker's head (`host:port`), once it has arrived; the worker joins it. */
  rayHeadAddress?: string;
}

/**
 * What a lease's own command is told of its Ray role (every runtime sets the same): GPUMESH_RAY_ROLE,
 * and for a worker GPUMESH_RAY_HEAD_ADDRESS, so a renter's or supplier's command can run
 * `ray start --address=$GPUMESH_RAY_HEAD_ADDRESS` itself.
 */
export function rayEnv(assignment: OpenedAssignment, options: StartOptions = {}): Record<string, string> {
  if (!assignment.ray) return {};
  return { GPUMESH_RAY_ROLE: assignment.ray.role, ...(assignment.ray.role === "worker" && options.rayHeadAddress ? { GPUMESH_RAY_HEAD_ADDRESS: options.rayHeadAddress } : {}) };
}

/**
 * Where assignments run. `ProcessRuntime` (a process group per allocation, fully tested here);
 * `SimulatedRuntime` (the dev fleet: nothing runs, the protocol is real). A runtime only ever touches
 * what it started itself.
 */
export interface Runtime {
  readonly name: string;
  /**
   * Runs renters' container images (an assignment's `workload`). Told to the gateway when connecting,
   * so placement sends workloads only to devices that can run them instead of having them refused.
   */
  readonly runsImages: boolean;
  /**
   * Starts the workload; resolves once it serves (or rejects with a reason the renter can read). A Ray
   * head reports a `ray-head` endpoint (the `host:port` its workers join); a Ray worker is started only
   * with its head's address.
   */
  start(assignment: OpenedAssignment, options?: StartOptions): Promise<RunningWorkload>;
  /** Stops it (idempotent); resolves when it is gone. */
  stop(allocationId: string): Promise<void>;
  running(): string[];
  /** Output lines and unexpected exits, for the logs the gateway keeps. */
  onLog(listener: (allocationId: string, lines: string[]) => void): void;
}

/**
 * The dev fleet's runtime: nothing runs, the protocol is real. A Ray head reports a dashboard and a head
 * address on `host`, a bare-metal node an SSH address, a reserved `.invalid` name (nothing answers there; the dev network shows the flow,
 * not a cluster), and its workers join it: `joined` says which address each was started with.
 */
export class SimulatedRuntime implements Runtime {
  readonly name = "simulated";
  /** It accepts every assignment (nothing runs), standing in for a Docker host on the dev network. */
  readonly runsImages = true;
  private readonly active = new Set<string>();
  /** Ray workers running now, with the head address they were started with. */
  readonly joined = new Map<string, string>();
  constructor(private readonly host = "simulated.gpumesh.invalid") {}
  async start(assignment: OpenedAssignment, options: StartOptions = {}): Promise<RunningWorkload> {
    this.active.add(assignment.allocationId);
    if (assignment.ray?.role === "worker" && options.rayHeadAddress) this.joined.set(assignment.allocationId, options.rayHeadAddress);
    if (assignment.clusterType === "BARE_METAL") return { endpoints: [{ kind: "ssh", url: `ssh://root@${this.host}:22` }] };
    if (assignment.ray?.role !== "head") return { endpoints: [] };
    return { endpoints: [{ kind: "ray-dashboard", url: `http://${this.host}:${RAY_DASHBOARD_PORT}/` }, { kind: "ray-head", url: `${this.host}:${RAY_GCS_PORT}` }] };
  }
  async stop(allocationId: string): Promise<void> {
    this.active.delete(allocationId);
    this.joined.delete(allocationId);
  }
  running(): string[] {
    return [...this.active];
  }
  onLog(): void {}
}
