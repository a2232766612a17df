import { randomBytes } from "node:crypto";
import { AgentInbox, AgentOutbox, simulatedElapsedMs, type AssignedWorkload, type RayRole } from "@gpumesh/agent-protocol";
import { Redis } from "ioredis";
import {
  computeChallenge,
  RowCommitmentTree,
  type GemmChallenge,
  type GemmCommitment,
  type GemmOpening,
  type GemmRowRequest,
  type VerificationAnswer,
} from "@gpumesh/core";

/**
 * How the scheduler talks to node agents. The real channel is `GatewayAgentChannel` (Redis, to the
 * agent gateway in apps/gateway); `SimulatedAgentChannel` answers in-process for scheduler tests. Either way the answers come
 * back as `AgentResponse`s that the scheduler turns into durable `agent-response` jobs, so an answer
 * survives a scheduler restart. Verification challenges travel the same way: commitments and opened
 * rows become `commitment`/`opening` jobs on the verify queue.
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
  /**
   * What the renter runs on each node, its env values sealed to this device for this allocation
   * (agent-protocol sealed-env.ts); absent: the agent's default for the type.
   */
  workload?: AssignedWorkload;
  /** RAY clusters: head, or worker of which head (packages/db ray-roles.ts). */
  ray?: RayRole;
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

/** Verification answers (commitments, opened rows) as they arrive; the scheduler makes them `verify` jobs. */
export type VerificationAnswerListener = (answer: VerificationAnswer) => Promise<unknown> | unknown;

export interface AgentChannel {
  /** Delivers an assignment; idempotent per allocation id. Resolves when handed over, not when acked. */
  assign(deviceId: string, assignment: AgentAssignment): Promise<void>;
  /** Tells an agent to stop serving an allocation (released, replaced, cluster ended). Best effort. */
  revoke(deviceId: string, allocationId: string, reason: string): Promise<void>;
  onResponse(listener: AgentResponseListener): void;
  close(): Promise<void>;
  /**
   * Proof-of-work challenges (jobs/verify.ts), optional so that a channel which cannot carry them (a
   * test double for deployments) still type-checks: the verify sweep issues nothing through such a
   * channel rather than letting every challenge expire against its devices. Both deliveries are
   * idempotent per challenge id; answers come back through `onVerificationAnswer`.
   */
  challenge?(deviceId: string, challenge: GemmChallenge): Promise<void>;
  requestRows?(deviceId: string, request: GemmRowRequest): Promise<void>;
  onVerificationAnswer?(listener: VerificationAnswerListener): void;
}

export type SimulatedBehaviour = { kind: "ack"; delayMs?: number } | { kind: "refuse"; reason: string; delayMs?: number } | { kind: "silent" };

/**
 * How a simulated device answers a challenge. `honest` computes C for real and opens the asked rows;
 * `wrong-rows` commits to a C with every value off by one (proofs consistent, results wrong: a device
 * that fakes the work); `garbage-commitment` sends a random root, then honest rows; `silent` never
 * answers. `elapsedMs` overrides the reported time (default below).
 */
export type SimulatedVerification =
  | { kind: "honest" | "wrong-rows" | "garbage-commitment"; delayMs?: number; elapsedMs?: number }
  | { kind: "silent" };

export interface SimulatedAgentOptions {
  /** Per challenge (so per device: `challenge.deviceId`); default honest. */
  verification?: (challenge: GemmChallenge) => SimulatedVerification;
}

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
  readonly challenges: GemmChallenge[] = [];
  readonly rowRequests: GemmRowRequest[] = [];
  private readonly verificationListeners: VerificationAnswerListener[] = [];
  /** Computed results awaiting a row request, per challenge id (dropped once opened or past the deadline). */
  private readonly pendingProofs = new Map<
    string,
    { result: Int32Array; tree: RowCommitmentTree; deadlineAt: number; behaviour: SimulatedVerification & { kind: "honest" | "wrong-rows" | "garbage-commitment" } }
  >();
  private readonly openedChallenges = new Set<string>();

  constructor(
    private readonly behaviour: (assignment: AgentAssignment) => SimulatedBehaviour = () => ({ kind: "ack", delayMs: 20 }),
    private readonly options: SimulatedAgentOptions = {},
  ) {}

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

  async challenge(_deviceId: string, challenge: GemmChallenge): Promise<void> {
    if (this.closed) throw new Error("agent channel closed");
    this.challenges.push(challenge);
    // Results whose rows were never asked for (a commitment the verifier refused) go with their deadline.
    for (const [id, pending] of this.pendingProofs) if (pending.deadlineAt < Date.now()) this.pendingProofs.delete(id);
    // A real agent dedupes on the challenge id: a re-sent challenge is not computed again.
    if (this.pendingProofs.has(challenge.challengeId) || this.openedChallenges.has(challenge.challengeId)) return;
    const behaviour = this.options.verification?.(challenge) ?? { kind: "honest" };
    if (behaviour.kind === "silent") return;
    const started = performance.now();
    const honest = computeChallenge(challenge.seed, challenge.matrixSize);
    const cpuMs = performance.now() - started;
    const result = behaviour.kind === "wrong-rows" ? honest.map((value) => value + 1) : honest;
    const tree = new RowCommitmentTree(challenge.seed, challenge.matrixSize, result);
    this.pendingProofs.set(challenge.challengeId, { result, tree, behaviour, deadlineAt: Date.parse(challenge.deadlineAt) });
    const root = behaviour.kind === "garbage-commitment" ? randomBytes(32).toString("hex") : tree.root;
    const commitment: GemmCommitment = {
      type: "commitment",
      challengeId: challenge.challengeId,
      deviceId: challenge.deviceId,
      seed: challenge.seed,
      matrixSize: challenge.matrixSize,
      root,
      elapsedMs: behaviour.elapsedMs ?? simulatedElapsedMs(challenge, cpuMs),
    };
    this.later(behaviour.delayMs ?? 10, () => this.emitVerification(commitment));
  }

  async requestRows(_deviceId: string, request: GemmRowRequest): Promise<void> {
    if (this.closed) throw new Error("agent channel closed");
    this.rowRequests.push(request);
    const pending = this.pendingProofs.get(request.challengeId);
    if (!pending) return;
    this.pendingProofs.delete(request.challengeId);
    this.openedChallenges.add(request.challengeId);
    const n = pending.tree.n;
    const opening: GemmOpening = {
      type: "opening",
      challengeId: request.challengeId,
      deviceId: request.deviceId,
      rows: request.rows.map((index) => ({ index, values: Array.from(pending.result.subarray(index * n, (index + 1) * n)), proof: pending.tree.proof(index) })),
    };
    this.later(pending.behaviour.delayMs ?? 10, () => this.emitVerification(opening));
  }

  onVerificationAnswer(listener: VerificationAnswerListener): void {
    this.verificationListeners.push(listener);
  }

  private emitVerification(answer: VerificationAnswer): void {
    for (const listener of this.verificationListeners) void Promise.resolve(listener(answer)).catch(() => undefined);
  }

  private later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    this.timers.add(timer);
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
  // No challenge methods: nothing would answer them, so the verify sweep issues none rather than
  // letting every device's score decay through expired challenges.
}

/**
 * The real channel (AGENT_CHANNEL=gateway): assignments, revokes and challenges go into each device's
 * outbox in Redis, where any agent gateway (apps/gateway) delivers them to the device's connection,
 * again after every reconnect until answered; answers come back through the inbox stream, read by a
 * consumer group and acknowledged only after the listeners (which enqueue durable jobs) returned.
 */
export class GatewayAgentChannel implements AgentChannel {
  private readonly redis: Redis;
  private readonly outbox: AgentOutbox;
  private readonly inbox: AgentInbox;
  private readonly responseListeners: AgentResponseListener[] = [];
  private readonly verificationListeners: VerificationAnswerListener[] = [];

  constructor(redisUrl: string, options: { prefix?: string; onError?: (error: unknown) => void } = {}) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    this.redis.on("error", (error) => options.onError?.(error));
    this.outbox = new AgentOutbox(this.redis, options.prefix);
    const reader = new Redis(redisUrl, { maxRetriesPerRequest: null });
    reader.on("error", (error) => options.onError?.(error));
    this.inbox = new AgentInbox(reader, { ...(options.prefix ? { prefix: options.prefix } : {}), ...(options.onError ? { onError: options.onError } : {}) });
    this.inbox.start(async (entry) => {
      if (entry.kind === "response") await Promise.all(this.responseListeners.map((listener) => listener(entry.response)));
      else {
        const answer = entry.kind === "commitment" ? entry.commitment : entry.opening;
        await Promise.all(this.verificationListeners.map((listener) => listener(answer)));
      }
    });
  }

  async assign(deviceId: string, assignment: AgentAssignment): Promise<void> {
    await this.outbox.assign(deviceId, assignment);
  }

  async revoke(deviceId: string, allocationId: string, reason: string): Promise<void> {
    await this.outbox.revoke(deviceId, allocationId, reason);
  }

  async challenge(deviceId: string, challenge: GemmChallenge): Promise<void> {
    await this.outbox.challenge(deviceId, challenge);
  }

  async requestRows(deviceId: string, request: GemmRowRequest): Promise<void> {
    await this.outbox.requestRows(deviceId, request);
  }

  onResponse(listener: AgentResponseListener): void {
    this.responseListeners.push(listener);
  }

  onVerificationAnswer(listener: VerificationAnswerListener): void {
    this.verificationListeners.push(listener);
  }

  async close(): Promise<void> {
    await this.inbox.stop();
    await this.redis.quit().catch(() => undefined);
  }
}
