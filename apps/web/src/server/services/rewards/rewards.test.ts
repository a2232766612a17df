import { cumulativeEmission, EMISSION_CAP, EMISSION_END_HOUR, hourlyEmission } from "@gpumesh/core";
import { describe, expect, it, vi } from "vitest";

// The pure parts of the rewards services; the database and chain reads are covered by
// e2e/rewards.spec.ts against pnpm dev. `server-only` throws outside a Server Components build.
vi.mock("server-only", () => ({}));
vi.mock("../../db.ts", () => ({ db: {} }));
vi.mock("../../chain.ts", () => ({
  chain: () => {
    throw new Error("no chain in unit tests");
  },
}));
const { deviceReward, idleDeviceReward } = await import("./wallet-rewards.ts");
const { emissionSchedule } = await import("./emission.ts");

const row = { epoch: 3, device_id: "d1", name: "atlas-h100-0001", gpu_model_id: "h100-80gb", gpu_count: 8, gpu_seconds: 8n * 122n, weight: 8n * 10_000n * 122n, weight_bps: 10_000, uptime_bps: 339, amount: 45_693_823n };

describe("deviceReward", () => {
  it("gives the formula's inputs: seconds online from GPU-seconds, and the stored weight and amount as they are", () => {
    const reward = deviceReward(row);
    expect(reward.onlineSeconds).toBe(122);
    expect(reward.gpuCount).toBe(8);
    expect(reward.performanceWeightBps).toBe(10_000);
    // weight = GPUs × bps × seconds, exactly what the page writes out.
    expect(reward.weight).toBe(BigInt(reward.gpuCount) * BigInt(reward.performanceWeightBps) * BigInt(reward.onlineSeconds));
    expect(reward.amount).toBe(45_693_823n);
    expect(reward.verified).toBe(true);
    expect(reward.reason).toBe("EARNED");
  });

  it("a device without GPUs (a CPU node) reports no GPU-seconds rather than dividing by zero", () => {
    expect(deviceReward({ ...row, gpu_count: 0, gpu_seconds: 0n, weight: 0n, amount: 0n }).onlineSeconds).toBe(0);
  });
});

describe("idleDeviceReward", () => {
  const idle = { epoch: 3, device_id: "d2", name: "atlas-h100-0002", gpu_model_id: "h100-80gb", gpu_count: 8, performance_weight_bps: 10_000, online_seconds: 3_600, check_failed: false, paused: false, removed: false, stake_status: "STAKED" as const, stake_amount: 8_000n * 1_000_000n };
  it("names the first reason the rewards job applied: offline all hour, then a failed check, then the stake, then not verified", () => {
    expect(idleDeviceReward({ ...idle, online_seconds: 0, check_failed: true, stake_status: null }).reason).toBe("OFFLINE");
    expect(idleDeviceReward({ ...idle, online_seconds: 0, paused: true }).reason).toBe("OFFLINE");
    expect(idleDeviceReward({ ...idle, paused: true, check_failed: true, stake_status: null }).reason).toBe("PAUSED");
    expect(idleDeviceReward({ ...idle, check_failed: true, stake_status: null }).reason).toBe("CHECK_FAILED");
    expect(idleDeviceReward({ ...idle, stake_status: null, stake_amount: null }).reason).toBe("NOT_STAKED");
    expect(idleDeviceReward({ ...idle, stake_status: "WITHDRAWN", stake_amount: 0n }).reason).toBe("NOT_STAKED");
    expect(idleDeviceReward({ ...idle, stake_status: "UNSTAKING" }).reason).toBe("UNSTAKING");
    // 8 H100s need 8,000 MESH: one base unit short does not count.
    expect(idleDeviceReward({ ...idle, stake_amount: 8_000n * 1_000_000n - 1n })).toMatchObject({ reason: "STAKE_BELOW_REQUIRED", requiredStake: 8_000n * 1_000_000n });
    expect(idleDeviceReward(idle).reason).toBe("NOT_VERIFIED");
  });

  it("earns nothing and says so in every number", () => {
    expect(idleDeviceReward({ ...idle, online_seconds: 1_800 })).toMatchObject({ verified: false, weight: 0n, amount: 0n, onlineSeconds: 1_800, uptimeBps: 5_000 });
  });
});

describe("emissionSchedule", () => {
  it("samples the whole 20 years from hour 1 to the cap, in the program's integers", () => {
    const points = emissionSchedule();
    expect(points[0]).toEqual({ hour: 1, hourly: hourlyEmission(1), cumulative: cumulativeEmission(1) });
    expect(points.at(-1)).toEqual({ hour: EMISSION_END_HOUR, hourly: hourlyEmission(EMISSION_END_HOUR), cumulative: EMISSION_CAP });
    expect(points.length).toBeGreaterThan(240);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.hour).toBeGreaterThan(points[i - 1]!.hour);
      expect(points[i]!.cumulative).toBeGreaterThanOrEqual(points[i - 1]!.cumulative);
      // Emission decays: no later hour emits more than an earlier one.
      expect(points[i]!.hourly).toBeLessThanOrEqual(points[i - 1]!.hourly);
    }
    expect(emissionSchedule()).toBe(points);
  });
});
