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
  const counts = { connected: 0, assigned: 0, revoked: 0, proofs: 0, refused: 0 };
  const clients: GatewayClient[] = [];
  const nodes: NodeAgent[] = [];
  for (let i = 0; i < options.devices; i++) {
    const runtime = new SimulatedRuntime();
    const client = new GatewayClient(options.gateway, devDeviceKey(options.first + i), {
      agentVersion: `${AGENT_VERSION}-sim`,
      running: () => runtime.running(),
      ...(options.heartbeatEveryMs ? { heartbeatEveryMs: options.heartbeatEveryMs } : {}),
    });
    client.on("connected", () => counts.connected++);
    client.on("disconnected", () => counts.connected--);
    client.on("refused", () => counts.refused++);
    nodes.push(
      new NodeAgent(client, runtime, {
        proofs: "simulated",
        events: { assigned: () => counts.assigned++, revoked: () => counts.revoked++, challenged: () => counts.proofs++ },
      }),
    );
    clients.push(client);
    // Spread the first connections over ~2 s rather than one burst.
    setTimeout(() => client.start(), Math.floor((i * 2_000) / options.devices)).unref();
  }
  const report = setInterval(
    () => console.log(`simulated fleet: ${Math.max(0, counts.connected)}/${options.devices} connected, ${counts.assigned} leases, ${counts.revoked} revoked, ${counts.proofs} proofs, ${counts.refused} refusals`),
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
