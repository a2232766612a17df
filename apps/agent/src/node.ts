import { randomBytes } from "node:crypto";
import { openAssignment, simulatedElapsedMs, type AgentAssignment, type DeviceKey, type GatewayMessage, type GatewayMessageOf, type OpenedAssignment } from "@gpumesh/agent-protocol";
import { computeChallenge, RowCommitmentTree, type GemmChallenge, type GemmRowRequest } from "@gpumesh/core";
import type { GatewayClient } from "./client.ts";
import type { Runtime, RunningWorkload } from "./runtime/runtime.ts";

/** A Ray worker's head never reported its address: the refusal's reason names it as such. */
class RayHeadUnreachable extends Error {}

/**
 * How this node answers proof-of-work challenges. `real`: computes C and reports the wall time it
 * took here (a CPU path; no CUDA kernel yet, see README). `simulated`: computes C for real but
 * reports a simulated GPU's time (the dev fleet). `wrong-rows` / `garbage-root` are for tests of the
 * verifier: a device that fakes results, one that commits to nothing.
 */
export type ProofMode = "real" | "simulated" | "wrong-rows" | "garbage-root";

/**
 * How long a Ray worker waits for its head's address before refusing (RAY_HEAD_UNREACHABLE). Below the
 * scheduler's default ack deadline (DEPLOY_ACK_TIMEOUT_S, 120 s), so the worker's refusal names the
 * reason instead of the scheduler timing it out without one; the head has that long to start and report.
 */
export const RAY_HEAD_WAIT_MS = 100_000;
/** Ray head addresses remembered for allocations this agent has not been assigned (yet). */
const MAX_EARLY_HEADS = 64;

export interface NodeEvents {
  assigned?(assignment: AgentAssignment, outcome: { accepted: boolean; reason?: string }): void;
  /** A running Ray worker was restarted against a new head (the old one was replaced). */
  rejoined?(allocationId: string, address: string): void;
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
  /**
   * Answer given per allocation, re-sent if the assignment comes again (our ack may have been lost),
   * with the endpoints reported after it (they may have been lost with it: a Ray head's address must
   * reach the gateway, or its workers wait for nothing).
   */
  private readonly answers = new Map<string, { outcome: { accepted: boolean; reason?: string }; endpoints: RunningWorkload["endpoints"] }>();
  /** Ray workers: the newest head address the gateway sent, per worker allocation. */
  private readonly rayHeads = new Map<string, string>();
  /** Ray workers: the head address each running worker was started with, and its assignment. */
  private readonly joined = new Map<string, { assignment: OpenedAssignment; address: string }>();
  /** Ray workers waiting for their head's address: called with it, or with undefined when revoked. */
  private readonly waitingForHead = new Map<string, (address: string | undefined) => void>();
  /** Per Ray worker, the restart against a newer head in progress (one at a time). */
  private readonly rejoining = new Map<string, Promise<void>>();
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
    private readonly options: {
      proofs?: ProofMode;
      events?: NodeEvents;
      rayHeadWaitMs?: number;
      /** This device's key: opens the env values sealed to it (sealed-env.ts). Without it a sealed env is refused. */
      deviceKey?: DeviceKey;
    } = {},
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
      case "ray-head":
        return this.rayHead(message);
    }
  }

  private async assign(assignment: AgentAssignment): Promise<void> {
    const refuse = (reason: string) => this.answer(assignment, { accepted: false, reason });
    if (this.revoked.has(assignment.allocationId)) return refuse("this allocation was already revoked");
    const known = this.answers.get(assignment.allocationId);
    if (known) {
      this.client.send({ type: "ack", allocationId: assignment.allocationId, ...known.outcome });
      for (const endpoint of known.endpoints) this.client.send({ type: "endpoint", allocationId: assignment.allocationId, ...endpoint });
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
    // The env values travel sealed to this device for this allocation; one that does not open is not
    // run without them (the renter's workload would start half-configured).
    let opened: OpenedAssignment;
    try {
      opened = openAssignment(assignment, this.options.deviceKey);
    } catch (error) {
      return refuse(`SEALED_ENV_UNREADABLE: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200));
    }
    const start = this.startLease(opened).then(
      (workload) => {
        if (!workload) return;
        this.answer(assignment, { accepted: true }, workload.endpoints);
        for (const endpoint of workload.endpoints) this.client.send({ type: "endpoint", allocationId: assignment.allocationId, ...endpoint });
      },
      (error: unknown) => refuse((error instanceof RayHeadUnreachable ? error.message : `the workload did not start: ${error instanceof Error ? error.message : String(error)}`).slice(0, 200)),
    );
    this.starting.set(assignment.allocationId, start);
    await start.finally(() => this.starting.delete(assignment.allocationId));
  }

  /**
   * Starts the lease; a Ray worker first waits (bounded) for its head's address. Undefined: revoked
   * while waiting (the revoke answers for it).
   */
  private async startLease(assignment: OpenedAssignment): Promise<RunningWorkload | undefined> {
    const ray = assignment.ray;
    if (ray?.role !== "worker") return this.runtime.start(assignment);
    const address = this.rayHeads.get(assignment.allocationId) ?? (await this.headAddress(assignment.allocationId, ray.headAllocationId));
    if (address === undefined) return undefined;
    const workload = await this.runtime.start(assignment, { rayHeadAddress: address });
    this.joined.set(assignment.allocationId, { assignment, address });
    // A newer head may have been announced while this one started.
    void this.rejoin(assignment.allocationId);
    return workload;
  }

  private headAddress(allocationId: string, headAllocationId: string): Promise<string | undefined> {
    const waitMs = this.options.rayHeadWaitMs ?? RAY_HEAD_WAIT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waitingForHead.delete(allocationId);
        reject(new RayHeadUnreachable(`RAY_HEAD_UNREACHABLE: no address from the Ray head (allocation ${headAllocationId}) within ${waitMs / 1000} s`));
      }, waitMs);
      this.waitingForHead.set(allocationId, (address) => {
        clearTimeout(timer);
        this.waitingForHead.delete(allocationId);
        resolve(address);
      });
    });
  }

  /**
   * Where a Ray worker's head is. A worker waiting for it starts now; one running against another
   * address (its head was replaced: the old head's raylets are gone with it) is restarted to join the
   * new one; the same address again (every reconnect sends it) changes nothing.
   */
  private async rayHead(message: GatewayMessageOf<"ray-head">): Promise<void> {
    if (this.revoked.has(message.allocationId)) return;
    if (!this.rayHeads.has(message.allocationId) && this.rayHeads.size >= MAX_EARLY_HEADS) {
      // Bounded: drop the addresses of allocations this agent neither waits for nor runs.
      for (const id of this.rayHeads.keys()) if (!this.joined.has(id) && !this.waitingForHead.has(id)) this.rayHeads.delete(id);
    }
    this.rayHeads.set(message.allocationId, message.address);
    this.waitingForHead.get(message.allocationId)?.(message.address);
    await this.rejoin(message.allocationId);
  }

  private rejoin(allocationId: string): Promise<void> {
    const pending = this.rejoining.get(allocationId);
    if (pending) return pending.then(() => this.rejoin(allocationId));
    const worker = this.joined.get(allocationId);
    const address = this.rayHeads.get(allocationId);
    if (!worker || !address || worker.address === address || this.revoked.has(allocationId)) return Promise.resolve();
    const restart = (async () => {
      await this.runtime.stop(allocationId);
      if (this.revoked.has(allocationId)) return;
      this.joined.set(allocationId, { assignment: worker.assignment, address });
      await this.runtime.start(worker.assignment, { rayHeadAddress: address });
      this.options.events?.rejoined?.(allocationId, address);
    })()
      .catch((error: unknown) => this.options.events?.failed?.(`Ray worker ${allocationId} could not join its new head ${address}: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.rejoining.delete(allocationId));
    this.rejoining.set(allocationId, restart);
    return restart;
  }

  private answer(assignment: AgentAssignment, outcome: { accepted: boolean; reason?: string }, endpoints: RunningWorkload["endpoints"] = []): void {
    this.answers.set(assignment.allocationId, { outcome, endpoints });
    this.client.send({ type: "ack", allocationId: assignment.allocationId, ...outcome });
    this.options.events?.assigned?.(assignment, outcome);
  }

  private async revoke(message: GatewayMessageOf<"revoke">): Promise<void> {
    this.revoked.add(message.allocationId);
    this.waitingForHead.get(message.allocationId)?.(undefined);
    this.rayHeads.delete(message.allocationId);
    this.joined.delete(message.allocationId);
    const stop = (async () => {
      await this.starting.get(message.allocationId)?.catch(() => undefined);
      await this.rejoining.get(message.allocationId);
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
