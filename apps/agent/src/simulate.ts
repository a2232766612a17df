import { devDeviceKey } from "@gpumesh/agent-protocol";
import { GatewayClient } from "./client.ts";
import { NodeAgent } from "./node.ts";
import { SimulatedRuntime } from "./runtime/runtime.ts";
import { AGENT_VERSION } from "./terminal.ts";

/**
 * `gpumesh-agent simulate`: N devices in one process, each with its own dev key (devDeviceKey(i)),
 * WebSocket, heartbeats, acks and honestly computed proofs (with a simulated GPU's time); leases run
 * in a SimulatedRuntime. `pnpm dev`'s seeded network runs on it.
 */
export async function runSimulation(options: { devices: number; first: number; gateway: string; heartbeatEveryMs?: number }): Promise<void> {
  const counts = { assigned: 0, revoked: 0, proofs: 0 };
  // Which devices are connected now (a socket that closes before it authenticates emits only
  // "disconnected"), and what the gateway refused, by code, so a stuck fleet says why.
  const connected = new Set<number>();
  const refusals = new Map<string, number>();
  const clients: GatewayClient[] = [];
  const nodes: NodeAgent[] = [];
  for (let i = 0; i < options.devices; i++) {
    // Each device's own reserved name: a Ray head's address says which simulated device it is.
    const runtime = new SimulatedRuntime(`sim-${options.first + i}.gpumesh.invalid`);
    const key = devDeviceKey(options.first + i);
    const client = new GatewayClient(options.gateway, key, {
      agentVersion: `${AGENT_VERSION}-sim`,
      running: () => runtime.running(),
      runsImages: runtime.runsImages,
      ...(options.heartbeatEveryMs ? { heartbeatEveryMs: options.heartbeatEveryMs } : {}),
    });
    client.on("connected", () => connected.add(i));
    client.on("disconnected", () => connected.delete(i));
    client.on("refused", (error: { code: string }) => refusals.set(error.code, (refusals.get(error.code) ?? 0) + 1));
    nodes.push(
      new NodeAgent(client, runtime, {
        // Its own key opens the env values sealed to it, as a real agent's does.
        deviceKey: key,
        proofs: "simulated",
        events: { assigned: () => counts.assigned++, revoked: () => counts.revoked++, challenged: () => counts.proofs++ },
      }),
    );
    clients.push(client);
    // Spread the first connections over ~2 s rather than one burst.
    setTimeout(() => client.start(), Math.floor((i * 2_000) / options.devices)).unref();
  }
  const report = setInterval(
    () => {
      const refused = [...refusals].map(([code, n]) => `${code} ×${n}`).join(", ");
      console.log(`simulated fleet: ${connected.size}/${options.devices} connected, ${counts.assigned} leases, ${counts.revoked} revoked, ${counts.proofs} proofs${refused ? `; refused: ${refused}` : ""}`);
    },
    30_000,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(report);
      void Promise.all(clients.map((client) => client.stop())).then(() => resolve());
    };
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(signal, stop);
  });
}
