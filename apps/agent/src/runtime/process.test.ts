import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ProcessRuntime } from "./process.ts";

describe("the process runtime", () => {
  it("never runs a renter's workload on the host: the lease is refused with a reason, nothing starts", async () => {
    const runtime = new ProcessRuntime({ command: ["node", "-e", "require('http').createServer((_, r) => r.end('x')).listen(process.env.PORT)"] });
    // What the agent tells the gateway, so placement does not send it such leases in the first place.
    expect(runtime.runsImages).toBe(false);
    const lease = {
      allocationId: randomUUID(),
      clusterId: randomUUID(),
      deviceId: randomUUID(),
      clusterType: "CONTAINER",
      gpuCount: 1,
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      workload: { image: "ghcr.io/acme/app:1", command: ["sh", "-c", "rm -rf ~"] },
    };
    await expect(runtime.start(lease)).rejects.toThrow("this device runs its owner's command, not renters' images (gpumesh-agent start --runtime process): ghcr.io/acme/app:1 cannot run here");
    expect(runtime.running()).toEqual([]);
    // The same lease without a workload runs the owner's command.
    const { workload: _workload, ...plain } = lease;
    const { endpoints } = await runtime.start(plain);
    expect(await (await fetch(endpoints[0]!.url)).text()).toBe("x");
    await runtime.stop(plain.allocationId);
    expect(runtime.running()).toEqual([]);
  });

  it("tells the owner's command its Ray role and its head's address; a head reports where its workers join", async () => {
    // Serves its GPUMESH_RAY_* environment as the page.
    const runtime = new ProcessRuntime({
      advertiseHost: "203.0.113.9",
      command: ["node", "-e", "require('http').createServer((_, r) => r.end(`${process.env.GPUMESH_RAY_ROLE} ${process.env.GPUMESH_RAY_HEAD_ADDRESS}`)).listen(process.env.PORT, '127.0.0.1')"],
    });
    const lease = (ray: NonNullable<Parameters<ProcessRuntime["start"]>[0]["ray"]>) => ({
      allocationId: randomUUID(), clusterId: randomUUID(), deviceId: randomUUID(), clusterType: "RAY", gpuCount: 1,
      startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), ray,
    });
    const page = async (url: string) => (await fetch(url.replace("203.0.113.9", "127.0.0.1"))).text();
    const head = lease({ role: "head" });
    const headRun = await runtime.start(head);
    expect(headRun.endpoints.map((endpoint) => endpoint.kind)).toEqual(["url", "ray-head"]);
    expect(headRun.endpoints[1]!.url).toBe("203.0.113.9:6379");
    expect(await page(headRun.endpoints[0]!.url)).toBe("head undefined");
    const worker = lease({ role: "worker", headAllocationId: head.allocationId });
    const workerRun = await runtime.start(worker, { rayHeadAddress: "203.0.113.9:6379" });
    expect(workerRun.endpoints.map((endpoint) => endpoint.kind)).toEqual(["url"]);
    expect(await page(workerRun.endpoints[0]!.url)).toBe("worker 203.0.113.9:6379");
    await runtime.stop(head.allocationId);
    await runtime.stop(worker.allocationId);
  });
});
