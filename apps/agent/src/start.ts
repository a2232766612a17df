import { GatewayClient } from "./client.ts";
import { loadState, saveState, type Identity } from "./identity.ts";
import { NodeAgent } from "./node.ts";
import { detectHardware } from "./hardware.ts";
import { DockerRuntime, MACHINE_IMAGE, RAY_IMAGE, WORKLOAD_IMAGE } from "./runtime/docker.ts";
import { ProcessRuntime } from "./runtime/process.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { AGENT_VERSION, paint } from "./terminal.ts";

const time = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => console.log(`${paint.dim(time())} ${line}`);

/** `gpumesh-agent start`: one device, a real runtime, until SIGTERM/SIGINT (then drains and exits 0). */
export async function runNode(options: { identity: Identity; runtime?: "process" | "docker"; command?: string[]; image?: string; rayImage?: string; machineImage?: string; pull?: "missing" | "never"; advertiseHost?: string }): Promise<void> {
  const { identity } = options;
  const runtime: Runtime =
    options.runtime === "docker"
      ? new DockerRuntime({
          deviceId: identity.file.deviceId,
          image: (assignment) =>
            assignment.clusterType === "RAY" ? (options.rayImage ?? RAY_IMAGE) : assignment.clusterType === "BARE_METAL" ? (options.machineImage ?? MACHINE_IMAGE) : (options.image ?? WORKLOAD_IMAGE),
          ...(options.command ? { command: options.command } : {}),
          ...(options.pull ? { pull: options.pull } : {}),
          gpus: detectHardware().gpus.length > 0,
          ...(options.advertiseHost ? { advertiseHost: options.advertiseHost } : {}),
        })
      : new ProcessRuntime({ ...(options.command ? { command: options.command } : {}), advertiseHost: options.advertiseHost });
  if (runtime instanceof DockerRuntime) {
    // Leases this device served when the agent last ran (state.json) keep their containers: the agent
    // takes them over (acked assignments are not sent again; a revoke for them still is). Any other
    // container of this device is a leftover and goes. Containers of other devices or of nobody are
    // never touched.
    const previous = (await loadState())?.running ?? [];
    const removed = await runtime.reconcile(previous).catch((error: unknown) => {
      say(paint.yellow(`could not check for leftover containers: ${error instanceof Error ? error.message : String(error)}`));
      return [];
    });
    if (removed.length) say(`removed ${removed.length} leftover container(s) of this device`);
  }
  const client = new GatewayClient(identity.file.gateway, identity.key, {
    agentVersion: AGENT_VERSION,
    running: () => runtime.running(),
    runsImages: runtime.runsImages,
    ...(identity.file.audience ? { audience: identity.file.audience } : {}),
  });
  const state = { deviceId: identity.file.deviceId, connected: false, since: new Date().toISOString(), running: [] as string[], pid: process.pid } as Parameters<typeof saveState>[0];
  const persist = () => void saveState({ ...state, running: runtime.running() }).catch(() => undefined);

  const node = new NodeAgent(client, runtime, {
    deviceKey: identity.key,
    // `simulated` (dev and tests only: a machine whose GPU is itself simulated) reports a simulated GPU's
    // time; a real agent reports the time it really took, and without a GPU kernel a GPU claim fails.
    proofs: process.env.GPUMESH_AGENT_PROOFS === "simulated" ? "simulated" : "real",
    events: {
      assigned: (assignment, outcome) => {
        say(outcome.accepted ? paint.green(`▶ lease ${assignment.allocationId} running (${assignment.clusterType}, ${assignment.gpuCount} GPU(s), until ${assignment.endsAt})`) : paint.yellow(`✗ lease ${assignment.allocationId} refused: ${outcome.reason}`));
        persist();
      },
      rejoined: (allocationId, address) => say(`↻ lease ${allocationId}: its Ray head was replaced; rejoined at ${address}`),
      revoked: (allocationId, reason) => {
        say(`■ lease ${allocationId} stopped: ${reason}`);
        persist();
      },
      challenged: (challenge, elapsedMs) => say(paint.dim(`proof of work: ${challenge.kind} n=${challenge.matrixSize} in ${elapsedMs} ms`)),
      failed: (problem) => say(paint.red(problem)),
    },
  });
  client.on("connected", ({ deviceId, skewMs }) => {
    say(paint.green(`connected as ${deviceId}`) + (Math.abs(skewMs) > 5_000 ? paint.yellow(` (clock ${Math.round(skewMs / 1000)} s off the gateway: enable NTP)`) : ""));
    Object.assign(state, { connected: true, since: new Date().toISOString() });
    persist();
  });
  client.on("heartbeat", ({ rttMs, skewMs }) => {
    Object.assign(state, { lastHeartbeatAt: new Date().toISOString(), rttMs, skewMs: Math.round(skewMs) });
    persist();
  });
  client.on("disconnected", ({ code, reason, retryInMs }) => {
    Object.assign(state, { connected: false, since: new Date().toISOString() });
    persist();
    if (retryInMs === null) {
      say(paint.red(`disconnected for good (${code}${reason ? `: ${reason}` : ""})`));
      if (code === 4401 || code === 4410) process.exitCode = 1;
      return;
    }
    say(paint.yellow(`disconnected (${code}${reason ? ` ${reason}` : ""}); reconnecting in ${(retryInMs / 1000).toFixed(1)} s`));
  });
  client.on("refused", (error) => say(paint.yellow(`gateway refused: ${error.code}: ${error.message}`)));

  say(`GPUMesh agent ${AGENT_VERSION}: device ${identity.file.deviceId} → ${identity.file.gateway} (${runtime.name} runtime)`);
  client.start();

  await new Promise<void>((resolve) => {
    let draining = false;
    const drain = (signal: NodeJS.Signals) => {
      if (draining) return;
      draining = true;
      say(`${signal}: draining (no new leases, stopping ${runtime.running().length} running)…`);
      void node
        .drain(`agent received ${signal}`)
        .then(() => client.stop())
        .then(() => {
          Object.assign(state, { connected: false, since: new Date().toISOString() });
          persist();
          say("drained; bye");
          resolve();
        });
    };
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => drain(signal));
    client.on("disconnected", ({ retryInMs }) => {
      if (retryInMs === null && !draining) void node.drain("connection refused for good").then(() => resolve());
    });
  });
}
