/**
 * How the scheduler talks to node agents. The real channel is the agent gateway in apps/web (a later
 * issue); until then `SimulatedAgentChannel` stands in for dev and tests. Either way the answers come
 * back as `AgentResponse`s that the scheduler turns into durable `agent-response` jobs, so an answer
 * survives a scheduler restart.
 */
export interface AgentAssignment {
  /** The allocation id doubles as the assignment id: agents dedupe on it, so re-sending is safe. */
  allocationId: string;
  clusterId: string;
  deviceId: string;
  clusterType: string;
  gpuCount: number;
  /** ISO 8601. */
  startsAt: string;
  endsAt: string;
}

export interface AgentResponse {
  allocationId: string;
  clusterId: string;
  deviceId: string;
  accepted: boolean;
  reason?: string;
  /** ISO 8601, when the agent answered. */
  at: string;
}

export type AgentResponseListener = (response: AgentResponse) => Promise<unknown> | unknown;

export interface AgentChannel {
  /** Delivers an assignment; idempotent per allocation id. Resolves when handed over, not when acked. */
  assign(deviceId: string, assignment: AgentAssignment): Promise<void>;
  /** Tells an agent to stop serving an allocation (released, replaced, cluster ended). Best effort. */
  revoke(deviceId: string, allocationId: string, reason: string): Promise<void>;
  onResponse(listener: AgentResponseListener): void;
  close(): Promise<void>;
}

export type SimulatedBehaviour = { kind: "ack"; delayMs?: number } | { kind: "refuse"; reason: string; delayMs?: number } | { kind: "silent" };

/**
 * In-process agents. Each allocation is answered once (a real agent dedupes the same way), after a
 * delay, according to `behaviour` (default: accept after 20 ms).
 */
export class SimulatedAgentChannel implements AgentChannel {
  readonly assigned: AgentAssignment[] = [];
  readonly revoked: { deviceId: string; allocationId: string; reason: string }[] = [];
  private readonly answered = new Set<string>();
  private readonly listeners: AgentResponseListener[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  constructor(private readonly behaviour: (assignment: AgentAssignment) => SimulatedBehaviour = () => ({ kind: "ack", delayMs: 20 })) {}

  async assign(deviceId: string, assignment: AgentAssignment): Promise<void> {
    if (this.closed) throw new Error("agent channel closed");
    this.assigned.push(assignment);
    if (this.answered.has(assignment.allocationId)) return;
    const behaviour = this.behaviour(assignment);
    if (behaviour.kind === "silent") return;
    this.answered.add(assignment.allocationId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const response: AgentResponse = {
        allocationId: assignment.allocationId,
        clusterId: assignment.clusterId,
        deviceId,
        accepted: behaviour.kind === "ack",
        ...(behaviour.kind === "refuse" ? { reason: behaviour.reason } : {}),
        at: new Date().toISOString(),
      };
      for (const listener of this.listeners) void Promise.resolve(listener(response)).catch(() => undefined);
    }, behaviour.delayMs ?? 20);
    this.timers.add(timer);
  }

  async revoke(deviceId: string, allocationId: string, reason: string): Promise<void> {
    this.revoked.push({ deviceId, allocationId, reason });
  }

  onResponse(listener: AgentResponseListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** A channel that delivers nothing (AGENT_CHANNEL=none): deployments wait for acks from elsewhere. */
export class NullAgentChannel implements AgentChannel {
  async assign(): Promise<void> {}
  async revoke(): Promise<void> {}
  onResponse(): void {}
  async close(): Promise<void> {}
}
