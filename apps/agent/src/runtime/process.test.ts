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
});
