import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AgentAssignment, AgentMessage, GatewayMessage, parseFrame, RayAddress } from "./messages.ts";

const assignment = (extra: Record<string, unknown> = {}) => ({
  allocationId: randomUUID(), clusterId: randomUUID(), deviceId: randomUUID(), clusterType: "RAY", gpuCount: 8,
  startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), ...extra,
});

describe("Ray roles on the wire", () => {
  it("an assignment carries a head role, or a worker role naming its head; without one it is what it always was", () => {
    const headAllocationId = randomUUID();
    expect(AgentAssignment.parse(assignment({ ray: { role: "head" } })).ray).toEqual({ role: "head" });
    expect(AgentAssignment.parse(assignment({ ray: { role: "worker", headAllocationId } })).ray).toEqual({ role: "worker", headAllocationId });
    expect(AgentAssignment.parse(assignment()).ray).toBeUndefined();
    // A worker must say which head it joins; roles are only these two.
    expect(AgentAssignment.safeParse(assignment({ ray: { role: "worker" } })).success).toBe(false);
    expect(AgentAssignment.safeParse(assignment({ ray: { role: "worker", headAllocationId: "not-a-uuid" } })).success).toBe(false);
    expect(AgentAssignment.safeParse(assignment({ ray: { role: "driver" } })).success).toBe(false);
  });

  it("an agent from before roles still reads a new assignment (the field is dropped), and a new agent reads an old one", () => {
    const LegacyAssignment = AgentAssignment.omit({ ray: true });
    const sent = assignment({ ray: { role: "worker", headAllocationId: randomUUID() } });
    const legacy = LegacyAssignment.parse(sent);
    expect(legacy).not.toHaveProperty("ray");
    expect(legacy.allocationId).toBe(sent.allocationId);
  });

  it("the gateway's ray-head message parses with a host:port address only", () => {
    const frame = (address: string) => JSON.stringify({ type: "ray-head", allocationId: randomUUID(), headAllocationId: randomUUID(), address });
    for (const address of ["203.0.113.7:32768", "gpu-7.example.net:6379", "[2001:db8::1]:6379", "sim-3.gpumesh.invalid:6379"]) {
      expect(parseFrame(GatewayMessage, frame(address))).toMatchObject({ type: "ray-head", address });
    }
    // Nothing a shell, a URL or `ray start --address` would read as more than an address.
    for (const address of ["203.0.113.7", "http://203.0.113.7:6379", "host:6379 --block", "host:6379;rm -rf /", "$(id):6379", "host:port", ""]) {
      expect(parseFrame(GatewayMessage, frame(address)), address).toBeUndefined();
      expect(RayAddress.safeParse(address).success, address).toBe(false);
    }
  });

  it("a head reports its address as a ray-head endpoint", () => {
    const endpoint = { type: "endpoint", seq: 3, allocationId: randomUUID(), kind: "ray-head", url: "203.0.113.7:32768" };
    expect(parseFrame(AgentMessage, JSON.stringify(endpoint))).toEqual(endpoint);
    expect(parseFrame(AgentMessage, JSON.stringify({ ...endpoint, kind: "ray-gcs" }))).toBeUndefined();
  });
});
