import type { AgentAssignment, ENDPOINT_KINDS } from "@gpumesh/agent-protocol";

export interface RunningWorkload {
  endpoints: { kind: (typeof ENDPOINT_KINDS)[number]; url: string }[];
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
  /** Starts the workload; resolves once it serves (or rejects with a reason the renter can read). */
  start(assignment: AgentAssignment): Promise<RunningWorkload>;
  /** Stops it (idempotent); resolves when it is gone. */
  stop(allocationId: string): Promise<void>;
  running(): string[];
  /** Output lines and unexpected exits, for the logs the gateway keeps. */
  onLog(listener: (allocationId: string, lines: string[]) => void): void;
}

export class SimulatedRuntime implements Runtime {
  readonly name = "simulated";
  /** It accepts every assignment (nothing runs), standing in for a Docker host on the dev network. */
  readonly runsImages = true;
  private readonly active = new Set<string>();
  async start(assignment: AgentAssignment): Promise<RunningWorkload> {
    this.active.add(assignment.allocationId);
    return { endpoints: [] };
  }
  async stop(allocationId: string): Promise<void> {
    this.active.delete(allocationId);
  }
  running(): string[] {
    return [...this.active];
  }
  onLog(): void {}
}
