import { describe, expect, it } from "vitest";
import {
  assertClusterTransition,
  canTransitionCluster,
  CLUSTER_TRANSITIONS,
  InvalidClusterTransitionError,
  isTerminalClusterStatus,
  transitionTimestamps,
} from "./cluster-lifecycle.ts";
import { ClusterStatus } from "./schemas/enums.ts";

describe("cluster state machine", () => {
  it("covers every status and only names known statuses", () => {
    expect(Object.keys(CLUSTER_TRANSITIONS).sort()).toEqual([...ClusterStatus.options].sort());
    for (const targets of Object.values(CLUSTER_TRANSITIONS)) for (const to of targets) expect(ClusterStatus.options).toContain(to);
  });

  it("allows the happy path and the failure paths", () => {
    const happy: ClusterStatus[] = ["REQUESTED", "PAID", "MATCHING", "DEPLOYING", "RUNNING", "DEGRADED", "RUNNING", "ENDING", "ENDED"];
    for (let i = 1; i < happy.length; i++) expect(canTransitionCluster(happy[i - 1]!, happy[i]!)).toBe(true);
    for (const from of ["REQUESTED", "PAID", "MATCHING", "DEPLOYING"] as const) expect(canTransitionCluster(from, "FAILED")).toBe(true);
    expect(canTransitionCluster("FAILED", "REFUNDED")).toBe(true);
    expect(canTransitionCluster("DEPLOYING", "MATCHING")).toBe(true);
    expect(canTransitionCluster("DEGRADED", "ENDING")).toBe(true);
  });

  it("rejects skips, self-loops and moves out of final states with a precise message", () => {
    expect(() => assertClusterTransition("PAID", "RUNNING", "c-1")).toThrow("cluster c-1 cannot go from PAID to RUNNING (allowed from PAID: MATCHING, FAILED)");
    expect(() => assertClusterTransition("ENDED", "RUNNING")).toThrow("cluster cannot go from ENDED to RUNNING (ENDED is final)");
    expect(() => assertClusterTransition("RUNNING", "RUNNING")).toThrow(InvalidClusterTransitionError);
    expect(() => assertClusterTransition("RUNNING", "FAILED")).toThrow(InvalidClusterTransitionError);
    try {
      assertClusterTransition("REFUNDED", "PAID", "c-2");
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidClusterTransitionError);
      expect((error as InvalidClusterTransitionError).allowed).toEqual([]);
      expect((error as InvalidClusterTransitionError).clusterId).toBe("c-2");
    }
  });

  it("knows the final states and that every state can reach one", () => {
    expect(ClusterStatus.options.filter(isTerminalClusterStatus).sort()).toEqual(["ENDED", "REFUNDED"]);
    for (const start of ClusterStatus.options) {
      const seen = new Set<ClusterStatus>([start]);
      const queue = [start];
      while (queue.length) {
        for (const next of CLUSTER_TRANSITIONS[queue.shift()!]) {
          if (seen.has(next)) continue;
          seen.add(next);
          queue.push(next);
        }
      }
      expect([...seen].some(isTerminalClusterStatus)).toBe(true);
    }
  });

  it("sets startedAt on the first RUNNING only and endedAt once", () => {
    const at = new Date("2026-11-25T10:00:00Z");
    const earlier = new Date("2026-11-25T09:00:00Z");
    expect(transitionTimestamps("RUNNING", at, { startedAt: null, endedAt: null })).toEqual({ startedAt: at });
    expect(transitionTimestamps("RUNNING", at, { startedAt: earlier, endedAt: null })).toEqual({});
    expect(transitionTimestamps("FAILED", at, { startedAt: null, endedAt: null })).toEqual({ endedAt: at });
    expect(transitionTimestamps("REFUNDED", at, { startedAt: null, endedAt: earlier })).toEqual({});
    expect(transitionTimestamps("ENDED", at, { startedAt: earlier, endedAt: null })).toEqual({ endedAt: at });
  });
});
