import { testRedis } from "@gpumesh/devstack";
import { Queue, UnrecoverableError } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { CAPPED_BACKOFF, createProducer, DEFAULT_JOB_OPTIONS, jobIds, jobs, parseJob, QUEUES, QueueUnavailableError } from "../src/index.ts";

// The producer the web uses (real Redis): deterministic ids, the payloads the workers parse, the
// queues' default options, and failing fast when Redis is not there.

const redis = testRedis();
const queues: Queue[] = [];
const queue = (name: string) => {
  const q = new Queue(name, { connection: { url: redis.url }, prefix: redis.prefix });
  queues.push(q);
  return q;
};

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
});

const clusterId = "0b9c3a8e-6a51-4a55-9d5e-2f1b8f3c7d10";

describe("createProducer", () => {
  it("enqueues each job once under its id, with a payload the worker's schema accepts and its queue's options", async () => {
    const producer = createProducer(redis.url, { prefix: redis.prefix });
    try {
      expect(await producer.deploy(clusterId)).toBe("added");
      expect(await producer.deploy(clusterId)).toBe("exists");
      const requestedAt = new Date("2026-11-30T12:00:00.500Z");
      expect(await producer.requestEnd(clusterId, requestedAt)).toBe("added");
      // A second request keeps the first one's instant.
      expect(await producer.requestEnd(clusterId, new Date(requestedAt.getTime() + 60_000))).toBe("exists");
      const endsAt = new Date(Date.now() + 3_600_000);
      expect(await producer.extended(clusterId, endsAt)).toBe("added");
      expect(await producer.leaseSync(clusterId, new Date("2026-11-30T12:00:00Z"))).toBe("added");

      const deploy = await queue(QUEUES.deploy).getJob(jobIds.deploy(clusterId));
      expect(parseJob(QUEUES.deploy, deploy!.name, deploy!.data)).toEqual({ name: "deploy", data: { clusterId } });
      expect(deploy!.opts.attempts).toBe(DEFAULT_JOB_OPTIONS.attempts);

      const settle = queue(QUEUES.settle);
      const end = await settle.getJob(jobIds.end(clusterId, "request"));
      expect(parseJob(QUEUES.settle, end!.name, end!.data)).toEqual({ name: "end", data: { clusterId, reason: "terminated by the renter", requestedAt: requestedAt.toISOString() } });
      // Chain-touching jobs carry the chain retry options (capped backoff), whoever enqueued them.
      expect(end!.opts.backoff).toEqual({ type: CAPPED_BACKOFF, delay: 1_000 });
      expect(end!.opts.attempts).toBe(20);

      const expiry = await settle.getJob(jobIds.expiry(clusterId, endsAt));
      expect(expiry!.id).toBe(`end/${clusterId}/expiry/${endsAt.toISOString().replace(/[-:]/g, "").replace(".000Z", "Z")}`);
      expect(parseJob(QUEUES.settle, expiry!.name, expiry!.data)).toEqual({ name: "expiry", data: { clusterId, endsAt: endsAt.toISOString() } });
      expect(await expiry!.getState()).toBe("delayed");
      expect(expiry!.opts.delay).toBeGreaterThan(3_500_000);

      expect(await settle.getJobState(jobIds.leaseSync(clusterId, new Date("2026-11-30T12:00:00Z")))).toBe("waiting");
    } finally {
      await producer.close();
    }
  });

  it("fails fast when Redis is unreachable instead of queueing the command", async () => {
    const producer = createProducer("redis://127.0.0.1:1", { prefix: redis.prefix, connectTimeoutMs: 500 });
    const started = Date.now();
    try {
      await expect(producer.deploy(clusterId)).rejects.toBeInstanceOf(QueueUnavailableError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await producer.close();
    }
  });
});

describe("parseJob", () => {
  it("refuses unknown jobs and malformed payloads for good", () => {
    expect(() => parseJob(QUEUES.settle, "nope", {})).toThrow(UnrecoverableError);
    expect(() => parseJob(QUEUES.settle, "end", { clusterId })).toThrow(/malformed payload/);
    expect(() => parseJob(QUEUES.deploy, "deploy", { clusterId: "not-an-id" })).toThrow(UnrecoverableError);
    expect(() => parseJob(QUEUES.settle, "toString", {})).toThrow(/unknown settle job/);
    expect(parseJob(QUEUES.settle, "sweep", undefined)).toEqual({ name: "sweep", data: undefined });
    const spec = jobs.verifyAnswer("commitment", clusterId, clusterId, { anything: 1 }, new Date(0));
    expect(parseJob(QUEUES.verify, spec.name, spec.data)).toEqual({ name: "commitment", data: { answer: { anything: 1 }, receivedAt: "1970-01-01T00:00:00.000Z" } });
    // A vanished-mid-lease slash names its device_outage row (a bigserial, as decimal text), one job per outage.
    const vanished = jobs.slashVanished("9007199254740993");
    expect(vanished.jobId).toBe("slash/outage/9007199254740993");
    expect(parseJob(QUEUES.settle, vanished.name, vanished.data)).toEqual({ name: "slash-vanished", data: { outageId: "9007199254740993" } });
    expect(() => parseJob(QUEUES.settle, "slash-vanished", { outageId: 42 })).toThrow(/malformed payload/);
    expect(() => parseJob(QUEUES.settle, "slash-vanished", { outageId: "0" })).toThrow(/malformed payload/);
  });
});
