import { InvalidClusterTransitionError, UnexpectedClusterStatusError, type ClusterTransitionEvent } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterNotFoundError, createDb, transitionCluster, transitionClusterInTx, type Db } from "../src/index.ts";

let database: TestDatabase;
let db: Db;
let renterId: string;

beforeAll(async () => {
  database = await createTestDatabase("transitions");
  db = createDb(database.url);
  renterId = (await db.account.create({ data: { walletAddress: "RenterTrans11111111111111111111111111111111" } })).id;
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function newCluster(status: "REQUESTED" | "RUNNING" = "REQUESTED"): Promise<string> {
  const cluster = await db.cluster.create({
    data: {
      renterId, name: "t", type: "CONTAINER", gpuModelIds: ["rtx-4090"], gpuCount: 1, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
      durationHours: 2, pricePerSecond: 100n, depositAmount: 720_000n, status,
    },
  });
  return cluster.id;
}

describe("cluster transitions", () => {
  it("walks the lifecycle, records each step with its reason and time, publishes after commit", async () => {
    const id = await newCluster();
    const published: ClusterTransitionEvent[] = [];
    const publish = (event: ClusterTransitionEvent) => void published.push(event);
    const t0 = new Date("2026-11-25T10:00:00Z");
    await transitionCluster(db, id, "PAID", "deposit confirmed", { publish, at: t0 });
    await transitionCluster(db, id, "MATCHING", "deploy started", { publish, expectedFrom: "PAID" });
    await transitionCluster(db, id, "DEPLOYING", "2 devices reserved", { publish });
    const endsAt = new Date("2026-11-25T12:00:00Z");
    const running = await transitionCluster(db, id, "RUNNING", "all agents acknowledged", { publish, at: new Date("2026-11-25T10:00:05Z"), data: { endsAt } });
    expect(running).toMatchObject({ changed: true, from: "DEPLOYING", to: "RUNNING" });
    const cluster = await db.cluster.findUniqueOrThrow({ where: { id } });
    expect(cluster).toMatchObject({ status: "RUNNING", startedAt: new Date("2026-11-25T10:00:05Z"), endsAt, endedAt: null });
    const events = await db.clusterEvent.findMany({ where: { clusterId: id }, orderBy: { id: "asc" } });
    expect(events.map((e) => [e.fromStatus, e.toStatus, e.reason])).toEqual([
      ["REQUESTED", "PAID", "deposit confirmed"],
      ["PAID", "MATCHING", "deploy started"],
      ["MATCHING", "DEPLOYING", "2 devices reserved"],
      ["DEPLOYING", "RUNNING", "all agents acknowledged"],
    ]);
    expect(events[0]!.at).toEqual(t0);
    expect(published.map((e) => e.to)).toEqual(["PAID", "MATCHING", "DEPLOYING", "RUNNING"]);
    expect(published[3]).toEqual({ eventId: events[3]!.id.toString(), clusterId: id, from: "DEPLOYING", to: "RUNNING", reason: "all agents acknowledged", at: "2026-11-25T10:00:05.000Z" });
  });

  it("is a no-op when already in the target status (idempotent replays), and refuses illegal moves precisely", async () => {
    const id = await newCluster("RUNNING");
    const published: ClusterTransitionEvent[] = [];
    expect(await transitionCluster(db, id, "RUNNING", "replay", { publish: (e) => void published.push(e) })).toMatchObject({ changed: false, event: null });
    await expect(transitionCluster(db, id, "FAILED", "nope")).rejects.toThrow(InvalidClusterTransitionError);
    await expect(transitionCluster(db, id, "PAID", "nope")).rejects.toThrow(`cluster ${id} cannot go from RUNNING to PAID (allowed from RUNNING: DEGRADED, ENDING)`);
    await expect(transitionCluster(db, id, "ENDING", "stale", { expectedFrom: ["DEGRADED"] })).rejects.toThrow(UnexpectedClusterStatusError);
    await expect(transitionCluster(db, "00000000-0000-4000-8000-000000000000", "PAID", "x")).rejects.toThrow(ClusterNotFoundError);
    expect(published).toEqual([]);
    expect(await db.clusterEvent.count({ where: { clusterId: id } })).toBe(0);
  });

  it("does not publish or record when the surrounding transaction rolls back", async () => {
    const id = await newCluster();
    await expect(
      db.$transaction(async (tx) => {
        await transitionClusterInTx(tx, id, "PAID", "will roll back");
        throw new Error("later step failed");
      }),
    ).rejects.toThrow("later step failed");
    expect((await db.cluster.findUniqueOrThrow({ where: { id } })).status).toBe("REQUESTED");
    expect(await db.clusterEvent.count({ where: { clusterId: id } })).toBe(0);
  });

  it("serializes concurrent writers on the row lock: of two racing moves from RUNNING exactly one applies", async () => {
    for (let round = 0; round < 5; round++) {
      const id = await newCluster("RUNNING");
      const results = await Promise.allSettled([
        transitionCluster(db, id, "DEGRADED", "device offline", { expectedFrom: "RUNNING" }),
        transitionCluster(db, id, "ENDING", "renter terminated", { expectedFrom: "RUNNING" }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(UnexpectedClusterStatusError);
      expect(await db.clusterEvent.count({ where: { clusterId: id } })).toBe(1);
    }
  });
});
