import { randomBytes } from "node:crypto";
import { simulatedElapsedMs, type AgentAssignment, type GatewayMessage, type GatewayMessageOf } from "@gpumesh/agent-protocol";
import { computeChallenge, RowCommitmentTree, type GemmChallenge, type GemmRowRequest } from "@gpumesh/core";
import type { GatewayClient } from "./client.ts";
import type { Runtime } from "./runtime/runtime.ts";

/**
 * How this node answers proof-of-work challenges. `real`: computes C and reports the wall time it
 * took here (a CPU path; no CUDA kernel yet, see README). `simulated`: computes C for real but
 * reports a simulated GPU's time (the dev fleet). `wrong-rows` / `garbage-root` are for tests of the
 * verifier: a device that fakes results, one that commits to nothing.
 */
export type ProofMode = "real" | "simulated" | "wrong-rows" | "garbage-root";

export interface NodeEvents {
  assigned?(assignment: AgentAssignment, outcome: { accepted: boolean; reason?: string }): void;
  revoked?(allocationId: string, reason: string): void;
  challenged?(challenge: GemmChallenge, elapsedMs: number): void;
  failed?(problem: string): void;
}

/**
 * The node's behaviour on top of a gateway connection: assignments into the runtime, revokes out of
 * it, challenges computed and opened. Everything is idempotent per id, because the gateway sends an
 * item again after every reconnect until it is answered.
 */
export class NodeAgent {
  /** Answer given per allocation, re-sent if the assignment comes again (our ack may have been lost). */
  private readonly answers = new Map<string, { accepted: boolean; reason?: string }>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly revoked = new Set<string>();
  /** Leases being stopped (a revoke in progress): new work waits for them instead of being refused. */
  private readonly stopping = new Map<string, Promise<void>>();
  /** Challenges already opened: a re-sent row request is answered from nothing (the result is freed). */
  private readonly opened = new Set<string>();
  private readonly proofs = new Map<string, { result: Int32Array; tree: RowCommitmentTree; root: string; elapsedMs: number; deadline: number }>();
  private draining = false;

  constructor(
    private readonly client: GatewayClient,
    private readonly runtime: Runtime,
    private readonly options: { proofs?: ProofMode; events?: NodeEvents } = {},
  ) {
    client.on("message", (message) => void this.handle(message));
    runtime.onLog((allocationId, lines) => {
      for (let i = 0; i < lines.length; i += 200) client.send({ type: "log", allocationId, lines: lines.slice(i, i + 200).map((line) => line.slice(0, 2_000)) });
    });
  }

  private async handle(message: GatewayMessage): Promise<void> {
    try {
      await this.dispatch(message);
    } catch (error) {
      this.options.events?.failed?.(`${message.type} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async dispatch(message: GatewayMessage): Promise<void> {
    switch (message.type) {
      case "assign":
        return this.assign(message.assignment);
      case "revoke":
        return this.revoke(message);
      case "challenge":
        return this.challenge(message.challenge);
      case "rows":
        return this.open(message.request);
    }
  }

  private async assign(assignment: AgentAssignment): Promise<void> {
    const refuse = (reason: string) => this.answer(assignment, { accepted: false, reason });
    if (this.revoked.has(assignment.allocationId)) return refuse("this allocation was already revoked");
    const known = this.answers.get(assignment.allocationId);
    if (known) {
      this.client.send({ type: "ack", allocationId: assignment.allocationId, ...known });
      return;
    }
    if (this.starting.has(assignment.allocationId)) return;
    if (this.draining) return refuse("the node is draining (shutting down)");
    if (Date.parse(assignment.endsAt) <= Date.now()) return refuse("the assignment has already ended");
    // A revoke delivered just before (the gateway sends revokes first) is let finish first.
    await Promise.all(this.stopping.values());
    // One lease at a time: new work only once the old allocation has been revoked (or is starting).
    const busy = [...this.runtime.running(), ...this.starting.keys()].find((id) => id !== assignment.allocationId && !this.revoked.has(id));
    if (busy) return refuse(`still serving allocation ${busy}, which has not been revoked`);
    const start = this.runtime.start(assignment).then(
      (workload) => {
        this.answer(assignment, { accepted: true });
        for (const endpoint of workload.endpoints) this.client.send({ type: "endpoint", allocationId: assignment.allocationId, ...endpoint });
      },
      (error: unknown) => refuse(`the workload did not start: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200)),
    );
    this.starting.set(assignment.allocationId, start);
    await start.finally(() => this.starting.delete(assignment.allocationId));
  }

  private answer(assignment: AgentAssignment, outcome: { accepted: boolean; reason?: string }): void {
    this.answers.set(assignment.allocationId, outcome);
    this.client.send({ type: "ack", allocationId: assignment.allocationId, ...outcome });
    this.options.events?.assigned?.(assignment, outcome);
  }

  private async revoke(message: GatewayMessageOf<"revoke">): Promise<void> {
    this.revoked.add(message.allocationId);
    const stop = (async () => {
      await this.starting.get(message.allocationId)?.catch(() => undefined);
      await this.runtime.stop(message.allocationId);
    })();
    this.stopping.set(message.allocationId, stop.catch(() => undefined));
    try {
      await stop;
    } catch (error) {
      // Not confirmed: the gateway keeps the revoke and sends it again after the next reconnect.
      this.options.events?.failed?.(`could not stop lease ${message.allocationId}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    } finally {
      this.stopping.delete(message.allocationId);
    }
    this.client.send({ type: "revoked", allocationId: message.allocationId });
    this.options.events?.revoked?.(message.allocationId, message.reason);
  }

  private challenge(challenge: GemmChallenge): void {
    const known = this.proofs.get(challenge.challengeId);
    const mode = this.options.proofs ?? "real";
    if (this.opened.has(challenge.challengeId)) return;
    if (!known) {
      for (const [id, proof] of this.proofs) if (proof.deadline < Date.now()) this.proofs.delete(id);
      const started = performance.now();
      const honest = computeChallenge(challenge.seed, challenge.matrixSize);
      const cpuMs = performance.now() - started;
      const result = mode === "wrong-rows" ? honest.map((value) => value + 1) : honest;
      const tree = new RowCommitmentTree(challenge.seed, challenge.matrixSize, result);
      const root = mode === "garbage-root" ? randomBytes(32).toString("hex") : tree.root;
      const elapsedMs = mode === "real" ? Math.round(cpuMs) : simulatedElapsedMs(challenge, cpuMs);
      this.proofs.set(challenge.challengeId, { result, tree, root, elapsedMs, deadline: Date.parse(challenge.deadlineAt) });
      this.options.events?.challenged?.(challenge, elapsedMs);
    }
    const proof = this.proofs.get(challenge.challengeId)!;
    this.client.send({
      type: "commitment",
      commitment: { type: "commitment", challengeId: challenge.challengeId, deviceId: challenge.deviceId, seed: challenge.seed, matrixSize: challenge.matrixSize, root: proof.root, elapsedMs: proof.elapsedMs },
    });
  }

  private open(request: GemmRowRequest): void {
    const proof = this.proofs.get(request.challengeId);
    if (!proof) return; // computed before a restart (or already opened): the challenge closes without us
    const n = proof.tree.n;
    this.client.send({
      type: "opening",
      opening: {
        type: "opening",
        challengeId: request.challengeId,
        deviceId: request.deviceId,
        rows: request.rows.map((index) => ({ index, values: Array.from(proof.result.subarray(index * n, (index + 1) * n)), proof: proof.tree.proof(index) })),
      },
    });
    // The n×n result (256 MB at n = 8192) is not kept once opened.
    this.proofs.delete(request.challengeId);
    this.opened.add(request.challengeId);
    if (this.opened.size > 1_000) this.opened.clear();
  }

  /** SIGTERM: refuse new work, tell the gateway (the device goes offline now), stop every workload. */
  async drain(reason: string): Promise<void> {
    this.draining = true;
    this.client.send({ type: "drain", reason });
    await Promise.all(this.runtime.running().map((id) => this.runtime.stop(id)));
  }
}
