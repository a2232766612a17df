import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import type { AgentAssignment, GatewayMessage } from "@gpumesh/agent-protocol";
import { sampleRows, verifyOpening, type GemmCommitment, type GemmOpening } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import type { GatewayClient, OutgoingMessage } from "./client.ts";
import { NodeAgent } from "./node.ts";
import { SimulatedRuntime } from "./runtime/runtime.ts";

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
