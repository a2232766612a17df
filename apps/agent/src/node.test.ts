import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { generateDeviceKey, sealWorkload, type AgentAssignment, type GatewayMessage, type OpenedAssignment } from "@gpumesh/agent-protocol";
import { sampleRows, verifyOpening, type GemmCommitment, type GemmOpening } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import type { GatewayClient, OutgoingMessage } from "./client.ts";
import { NodeAgent } from "./node.ts";
import { SimulatedRuntime, type StartOptions } from "./runtime/runtime.ts";

/** The connection side of the node, in memory: what the gateway would send, what the node sends back. */
class Wire extends EventEmitter {
  readonly sent: OutgoingMessage[] = [];
  send(message: OutgoingMessage): number {
    this.sent.push(message);
    return this.sent.length;
  }
  deliver(message: GatewayMessage): Promise<void> {
    this.emit("message", message);
    return new Promise((resolve) => setTimeout(resolve, 10));
  }
  last<T extends OutgoingMessage["type"]>(type: T): Extract<OutgoingMessage, { type: T }> {
    return this.sent.filter((m) => m.type === type).at(-1) as Extract<OutgoingMessage, { type: T }>;
  }
}

/** The simulated runtime, keeping what each lease was started with (its opened env included). */
class RecordingRuntime extends SimulatedRuntime {
  readonly started: OpenedAssignment[] = [];
  override async start(assignment: OpenedAssignment, options: StartOptions = {}) {
    this.started.push(assignment);
    return super.start(assignment, options);
  }
}

const deviceId = randomUUID();
const assignment = (): AgentAssignment => ({
  allocationId: randomUUID(), clusterId: randomUUID(), deviceId, clusterType: "RAY", gpuCount: 1,
  startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(),
});

describe("node agent", () => {
  it("runs one lease at a time: new work is refused until the old allocation is revoked", async () => {
    const wire = new Wire();
    const runtime = new SimulatedRuntime();
    new NodeAgent(wire as unknown as GatewayClient, runtime);
    const first = assignment();
    const second = assignment();
    await wire.deliver({ type: "assign", assignment: first });
    expect(wire.last("ack")).toMatchObject({ allocationId: first.allocationId, accepted: true });
    await wire.deliver({ type: "assign", assignment: second });
    expect(wire.last("ack")).toMatchObject({ allocationId: second.allocationId, accepted: false, reason: `still serving allocation ${first.allocationId}, which has not been revoked` });
    expect(runtime.running()).toEqual([first.allocationId]);
    // The same assignment again (our ack was lost): the same answer, nothing started twice.
    await wire.deliver({ type: "assign", assignment: first });
    expect(wire.last("ack")).toMatchObject({ allocationId: first.allocationId, accepted: true });
    await wire.deliver({ type: "revoke", allocationId: first.allocationId, reason: "ended" });
    expect(wire.last("revoked")).toEqual({ type: "revoked", allocationId: first.allocationId });
    expect(runtime.running()).toEqual([]);
    const third = assignment();
    await wire.deliver({ type: "assign", assignment: third });
    expect(wire.last("ack")).toMatchObject({ allocationId: third.allocationId, accepted: true });
  });

  it("a revoke and the next assignment in one burst: the old lease stops first, the new one is accepted", async () => {
    const wire = new Wire();
    const runtime = new SimulatedRuntime();
    new NodeAgent(wire as unknown as GatewayClient, runtime);
    const old = assignment();
    await wire.deliver({ type: "assign", assignment: old });
    const next = assignment();
    wire.emit("message", { type: "revoke", allocationId: old.allocationId, reason: "replaced" });
    await wire.deliver({ type: "assign", assignment: next });
    expect(wire.last("ack")).toMatchObject({ allocationId: next.allocationId, accepted: true });
    expect(runtime.running()).toEqual([next.allocationId]);
    // The old one, assigned again after its revoke, is refused (not the answer given before).
    await wire.deliver({ type: "assign", assignment: old });
    expect(wire.last("ack")).toMatchObject({ allocationId: old.allocationId, accepted: false, reason: "this allocation was already revoked" });
  });

  it("refuses a revoked, an ended, and (while draining) any assignment", async () => {
    const wire = new Wire();
    const node = new NodeAgent(wire as unknown as GatewayClient, new SimulatedRuntime());
    const revoked = assignment();
    await wire.deliver({ type: "revoke", allocationId: revoked.allocationId, reason: "replaced" });
    await wire.deliver({ type: "assign", assignment: revoked });
    expect(wire.last("ack")).toMatchObject({ accepted: false, reason: "this allocation was already revoked" });
    await wire.deliver({ type: "assign", assignment: { ...assignment(), endsAt: new Date(Date.now() - 1_000).toISOString() } });
    expect(wire.last("ack")).toMatchObject({ accepted: false, reason: "the assignment has already ended" });
    await node.drain("SIGTERM");
    expect(wire.last("drain")).toEqual({ type: "drain", reason: "SIGTERM" });
    await wire.deliver({ type: "assign", assignment: assignment() });
    expect(wire.last("ack")).toMatchObject({ accepted: false, reason: "the node is draining (shutting down)" });
  });

  it("opens the env sealed to its device key and runs the workload with it; a seal it cannot open is refused with SEALED_ENV_UNREADABLE", async () => {
    const key = generateDeviceKey();
    const wire = new Wire();
    const runtime = new RecordingRuntime();
    new NodeAgent(wire as unknown as GatewayClient, runtime, { deviceKey: key });
    const workload = { image: "ghcr.io/acme/train:2", env: { WANDB_API_KEY: "wandb-secret-42" } };
    const sealedFor = (publicKey: string, base: AgentAssignment) => ({ ...base, workload: sealWorkload(workload, publicKey, base) });
    const mine = sealedFor(key.publicKey, assignment());
    await wire.deliver({ type: "assign", assignment: mine });
    expect(wire.last("ack")).toMatchObject({ allocationId: mine.allocationId, accepted: true });
    expect(runtime.started.map((a) => a.workload)).toEqual([workload]);
    await wire.deliver({ type: "revoke", allocationId: mine.allocationId, reason: "ended" });

    // Sealed to another device, or to this device for another allocation (ids swapped on the way): refused, nothing runs.
    const other = sealedFor(generateDeviceKey().publicKey, assignment());
    const sealedElsewhere = sealWorkload(workload, key.publicKey, assignment());
    const swapped = { ...assignment(), workload: sealedElsewhere };
    for (const refused of [other, swapped]) {
      await wire.deliver({ type: "assign", assignment: refused });
      expect(wire.last("ack")).toMatchObject({ allocationId: refused.allocationId, accepted: false, reason: expect.stringMatching(/^SEALED_ENV_UNREADABLE: the workload's env was not sealed to this device's key/) });
    }
    expect(runtime.started).toHaveLength(1);
    // An agent started without its key cannot open any.
    const keyless = new Wire();
    new NodeAgent(keyless as unknown as GatewayClient, new SimulatedRuntime());
    const sealed = sealedFor(key.publicKey, assignment());
    await keyless.deliver({ type: "assign", assignment: sealed });
    expect(keyless.last("ack")).toMatchObject({ accepted: false, reason: expect.stringMatching(/^SEALED_ENV_UNREADABLE: this agent was started without its device key/) });
  });

  it("a Ray worker waits for its head's address, then joins it; without one it refuses with RAY_HEAD_UNREACHABLE", async () => {
    const wire = new Wire();
    const runtime = new SimulatedRuntime();
    new NodeAgent(wire as unknown as GatewayClient, runtime, { rayHeadWaitMs: 300 });
    const headAllocationId = randomUUID();
    const worker = { ...assignment(), ray: { role: "worker" as const, headAllocationId } };
    await wire.deliver({ type: "assign", assignment: worker });
    // Waiting: not acked, not started.
    expect(wire.sent.filter((m) => m.type === "ack")).toEqual([]);
    expect(runtime.running()).toEqual([]);
    await wire.deliver({ type: "ray-head", allocationId: worker.allocationId, headAllocationId, address: "203.0.113.7:32768" });
    expect(wire.last("ack")).toMatchObject({ allocationId: worker.allocationId, accepted: true });
    expect(runtime.joined.get(worker.allocationId)).toBe("203.0.113.7:32768");
    // The same address again (every reconnect sends it): nothing restarts.
    const acks = wire.sent.length;
    await wire.deliver({ type: "ray-head", allocationId: worker.allocationId, headAllocationId, address: "203.0.113.7:32768" });
    expect(wire.sent.length).toBe(acks);

    const lonely = new Wire();
    new NodeAgent(lonely as unknown as GatewayClient, new SimulatedRuntime(), { rayHeadWaitMs: 200 });
    const orphan = { ...assignment(), ray: { role: "worker" as const, headAllocationId } };
    await lonely.deliver({ type: "assign", assignment: orphan });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lonely.last("ack")).toMatchObject({ allocationId: orphan.allocationId, accepted: false, reason: `RAY_HEAD_UNREACHABLE: no address from the Ray head (allocation ${headAllocationId}) within 0.2 s` });
  });

  it("a Ray worker whose head was replaced restarts against the new head; a revoke while waiting stops the wait", async () => {
    const wire = new Wire();
    const runtime = new SimulatedRuntime();
    const rejoined: string[] = [];
    new NodeAgent(wire as unknown as GatewayClient, runtime, { events: { rejoined: (_id, address) => rejoined.push(address) } });
    const worker = { ...assignment(), ray: { role: "worker" as const, headAllocationId: randomUUID() } };
    // The address came before the assignment (the gateway sends the outbox in one burst): used at once.
    await wire.deliver({ type: "ray-head", allocationId: worker.allocationId, headAllocationId: worker.ray.headAllocationId, address: "old-head.example:6379" });
    await wire.deliver({ type: "assign", assignment: worker });
    expect(wire.last("ack")).toMatchObject({ allocationId: worker.allocationId, accepted: true });
    expect(runtime.joined.get(worker.allocationId)).toBe("old-head.example:6379");
    await wire.deliver({ type: "ray-head", allocationId: worker.allocationId, headAllocationId: randomUUID(), address: "new-head.example:6379" });
    expect(runtime.joined.get(worker.allocationId)).toBe("new-head.example:6379");
    expect(runtime.running()).toEqual([worker.allocationId]);
    expect(rejoined).toEqual(["new-head.example:6379"]);

    await wire.deliver({ type: "revoke", allocationId: worker.allocationId, reason: "ended" });
    const waiting = { ...assignment(), ray: { role: "worker" as const, headAllocationId: randomUUID() } };
    await wire.deliver({ type: "assign", assignment: waiting });
    await wire.deliver({ type: "revoke", allocationId: waiting.allocationId, reason: "cluster ended" });
    expect(wire.last("revoked")).toEqual({ type: "revoked", allocationId: waiting.allocationId });
    expect(wire.sent.filter((m) => m.type === "ack" && m.allocationId === waiting.allocationId)).toEqual([]);
    expect(runtime.running()).toEqual([]);
  });

  it("a Ray head reports its dashboard and address, and reports them again with a re-sent ack", async () => {
    const wire = new Wire();
    new NodeAgent(wire as unknown as GatewayClient, new SimulatedRuntime("sim-1.gpumesh.invalid"));
    const head = { ...assignment(), ray: { role: "head" as const } };
    await wire.deliver({ type: "assign", assignment: head });
    const endpoints = () => wire.sent.filter((m) => m.type === "endpoint").map((m) => `${m.kind} ${m.url}`);
    expect(endpoints()).toEqual(["ray-dashboard http://sim-1.gpumesh.invalid:8265/", "ray-head sim-1.gpumesh.invalid:6379"]);
    // Our ack (and what followed it) was lost: the assignment comes again, and both go out again.
    await wire.deliver({ type: "assign", assignment: head });
    expect(endpoints()).toHaveLength(4);
    expect(wire.last("endpoint")).toMatchObject({ kind: "ray-head", url: "sim-1.gpumesh.invalid:6379" });
  });

  it("answers a challenge once (a re-delivery gets the same commitment) and opens rows that verify", async () => {
    const wire = new Wire();
    new NodeAgent(wire as unknown as GatewayClient, new SimulatedRuntime(), { proofs: "real" });
    const challenge = { challengeId: randomUUID(), deviceId, kind: "CPU_GEMM" as const, seed: "5a".repeat(32), matrixSize: 32, deadlineAt: new Date(Date.now() + 60_000).toISOString() };
    await wire.deliver({ type: "challenge", challenge });
    const commitment = wire.last("commitment").commitment as GemmCommitment;
    await wire.deliver({ type: "challenge", challenge });
    expect(wire.last("commitment").commitment).toEqual(commitment);
    const rows = sampleRows(new Uint8Array(16).fill(3), 32, 6);
    await wire.deliver({ type: "rows", request: { challengeId: challenge.challengeId, deviceId, rows } });
    const opening = wire.last("opening").opening as GemmOpening;
    const issued = { challengeId: challenge.challengeId, deviceId, kind: challenge.kind, seed: challenge.seed, matrixSize: 32 };
    expect(verifyOpening(issued, { root: commitment.root, sampledRows: rows }, opening)).toEqual({ ok: true });
  });
});
