#!/usr/bin/env -S npx tsx
import { generateDeviceKey, JoinResponse } from "@gpumesh/agent-protocol";
import { hardwareFloorProblems } from "@gpumesh/core";
import { Command, Option } from "commander";
import { detectHardware } from "./hardware.ts";
import { agentHome, IdentityError, keyFileProblems, loadIdentity, loadState, saveIdentity } from "./identity.ts";
import { measureLink } from "./measure.ts";
import { runNode } from "./start.ts";
import { MACHINE_IMAGE, RAY_IMAGE, WORKLOAD_IMAGE } from "./runtime/docker.ts";
import { runSimulation } from "./simulate.ts";
import { dockerReachable, hardwareReport, imageOnHost } from "./system.ts";
import { AGENT_VERSION, paint } from "./terminal.ts";

const DEFAULT_GATEWAY = process.env.GPUMESH_GATEWAY_URL ?? "http://127.0.0.1:3200";

const program = new Command()
  .name("gpumesh-agent")
  .version(AGENT_VERSION)
  .description("GPUMesh node agent: joins this machine to the network, proves its hardware and runs leases");

const fail = (message: string): never => {
  console.error(paint.red(`✗ ${message}`));
  process.exit(1);
};

program
  .command("detect")
  .description("print the hardware this machine would register (CPU, RAM, disk, GPUs)")
  .option("--json", "machine-readable output")
  .action((options: { json?: boolean }) => {
    const report = hardwareReport(agentHome());
    if (options.json) return console.log(JSON.stringify(report, null, 2));
    console.log(`CPU   ${report.cpuModel} (${report.cpuCores} threads)`);
    console.log(`RAM   ${report.ramGb} GB    disk ${report.diskGb} GB    ${report.os}`);
    if (report.gpus.length === 0) console.log("GPUs  none found (nvidia-smi unavailable): this machine can join as a CPU device");
    for (const [index, gpu] of report.gpus.entries()) {
      console.log(`GPU ${index} ${gpu.name}, ${Math.round(gpu.vramMb / 1024)} GB${gpu.gpuModelId ? ` → ${gpu.gpuModelId}` : " (not in the GPUMesh catalogue)"}`);
    }
  });

program
  .command("join")
  .description("register this machine with a one-time join token from the Supply page")
  .requiredOption("--token <token>", "the join token (single use, expires after an hour)")
  .option("--gateway <url>", "the GPUMesh agent gateway", DEFAULT_GATEWAY)
  .option("--skip-speed-test", "do not measure bandwidth (the device joins in the standard connectivity tier)")
  .action(async (options: { token: string; gateway: string; skipSpeedTest?: boolean }) => {
    const existing = await loadIdentity().catch(() => undefined);
    if (existing) fail(`this machine already joined as device ${existing.file.deviceId} (${agentHome()}); run \`gpumesh-agent start\`, or remove ${agentHome()}/device.json to join again`);
    console.log(paint.dim("1/4 detecting hardware…"));
    let report = hardwareReport(agentHome());
    console.log(`    ${report.gpus.length ? `${report.gpus.length} × ${report.gpus[0]!.name}` : "no GPU (CPU device)"}, ${report.cpuCores} CPU threads, ${report.ramGb} GB RAM, ${report.diskGb} GB disk`);
    // The gateway decides (its network's floor, docs/hardware-floor.md) and names every shortfall.
    if (!options.skipSpeedTest) {
      console.log(paint.dim(`2/4 measuring the link to ${options.gateway}…`));
      try {
        const link = await measureLink(options.gateway);
        report = hardwareReport(agentHome(), link);
        console.log(`    latency ${link.latencyMs} ms, down ${link.downMbps} Mbps, up ${link.upMbps} Mbps`);
      } catch (error) {
        fail(`cannot reach the gateway at ${options.gateway}: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else console.log(paint.dim("2/4 speed test skipped"));
    console.log(paint.dim("3/4 generating the device key…"));
    const key = generateDeviceKey();
    console.log(paint.dim("4/4 registering…"));
    let response: Response;
    try {
      response = await fetch(new URL("/join", options.gateway), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: options.token, publicKey: key.publicKey, hardware: report, agentVersion: AGENT_VERSION }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      return fail(`cannot reach the gateway at ${options.gateway}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string; details?: string[] } };
    if (!response.ok) return fail(body.error?.message ?? `the gateway answered HTTP ${response.status}`);
    const joined = JoinResponse.parse(body);
    const file = await saveIdentity({
      version: 1,
      deviceId: joined.deviceId,
      gateway: options.gateway,
      publicKey: key.publicKey,
      secretKey: Buffer.from(key.secretKey).toString("base64"),
      joinedAt: new Date().toISOString(),
      name: joined.name,
      audience: joined.audience,
    });
    console.log(paint.green(`✓ joined as device ${joined.deviceId} (“${joined.name}”, ${joined.region}${joined.gpuModelId ? `, ${joined.gpuCount} × ${joined.gpuModelId}` : ", CPU"})`));
    console.log(`  key saved to ${file} (mode 600; it is this device's identity: keep it private)`);
    console.log(`  next: ${paint.bold("gpumesh-agent start")}`);
  });

program
  .command("start")
  .description("connect to the gateway, heartbeat, prove the hardware and run leases (SIGTERM drains)")
  .addOption(new Option("--runtime <runtime>", "where leases run: process groups here, or Docker containers (Engine API)").choices(["process", "docker"]).default("process"))
  .option("--command <command...>", "the workload each lease runs (default: a small HTTP service, or the image's own command; PORT and GPUMESH_* are set)")
  .option("--image <image>", "docker runtime: the local image for container leases that bring no image of their own", WORKLOAD_IMAGE)
  .option("--ray-image <image>", "docker runtime: the local image for Ray leases that bring no image of their own", RAY_IMAGE)
  .option("--machine-image <image>", "docker runtime: the local image for bare-metal leases (an SSH server that lets in SSH_PUBLIC_KEY; build it from apps/agent/images/machine)", MACHINE_IMAGE)
  .addOption(new Option("--pull <policy>", "docker runtime: pull a renter's image this machine lacks, or refuse such leases").choices(["missing", "never"]).default("missing"))
  .option("--advertise-host <host>", "host renters reach this machine at", "127.0.0.1")
  .action(async (options: { runtime: "process" | "docker"; command?: string[]; image: string; rayImage: string; machineImage: string; pull: "missing" | "never"; advertiseHost: string }) => {
    try {
      await runNode({ identity: await loadIdentity(), runtime: options.runtime, command: options.command, image: options.image, rayImage: options.rayImage, machineImage: options.machineImage, pull: options.pull, advertiseHost: options.advertiseHost });
    } catch (error) {
      if (error instanceof IdentityError) fail(error.message);
      throw error;
    }
  });

program
  .command("status")
  .description("what the running agent last saw (connection, heartbeat, leases)")
  .action(async () => {
    const identity = await loadIdentity().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
    const state = await loadState();
    console.log(`device   ${identity.file.deviceId} (“${identity.file.name}”), gateway ${identity.file.gateway}`);
    if (!state) return console.log(paint.yellow("agent    not started on this machine yet (gpumesh-agent start)"));
    let alive = false;
    try {
      process.kill(state.pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    console.log(`agent    ${alive ? paint.green(`running (pid ${state.pid})`) : paint.red("not running")}, ${state.connected ? "connected" : "disconnected"} since ${state.since}`);
    if (state.lastHeartbeatAt) console.log(`heartbeat ${state.lastHeartbeatAt} (rtt ${state.rttMs ?? "?"} ms, clock skew ${state.skewMs ?? "?"} ms)`);
    console.log(`leases   ${state.running.length ? state.running.join(", ") : "none"}`);
  });

program
  .command("doctor")
  .description("self-check: one line per problem (GPU, driver, Docker, gateway, clock, key, token)")
  .option("--gateway <url>", "the GPUMesh agent gateway", DEFAULT_GATEWAY)
  .option("--token <token>", "also check that this join token is still usable")
  .action(async (options: { gateway: string; token?: string }) => {
    let problems = 0;
    const ok = (line: string) => console.log(`${paint.green("✓")} ${line}`);
    const bad = (line: string) => {
      problems++;
      console.log(`${paint.red("✗")} ${line}`);
    };
    const warn = (line: string) => console.log(`${paint.yellow("!")} ${line}`);
    const identity = await loadIdentity().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    const gateway = typeof identity === "string" ? options.gateway : identity.file.gateway;
    if (typeof identity === "string") warn(`not joined yet: ${identity}`);
    else ok(`device key for ${identity.file.deviceId}`);
    for (const problem of await keyFileProblems()) bad(problem);
    const hardware = detectHardware();
    if (hardware.gpus.length === 0) warn("no GPU found: nvidia-smi is missing or the NVIDIA driver is not loaded (the machine joins as a CPU device)");
    else {
      for (const gpu of hardware.gpus) (gpu.gpuModelId ? ok : bad)(`GPU ${gpu.name}${gpu.gpuModelId ? ` → ${gpu.gpuModelId}` : ": not in the GPUMesh catalogue"}`);
    }
    // The floor a production gateway enforces at join (a dev gateway may accept anything).
    for (const problem of hardwareFloorProblems(hardwareReport(agentHome()))) bad(`below the minimum hardware: ${problem}`);
    const docker = await dockerReachable();
    if (docker.ok) {
      ok(`Docker Engine API at ${docker.socketPath}`);
      // The images leases without their own run are never pulled: a missing one means those leases are refused.
      const defaults = [
        [WORKLOAD_IMAGE, "container leases without an image", "--image"],
        [RAY_IMAGE, "Ray leases without an image", "--ray-image"],
        [MACHINE_IMAGE, "bare-metal leases", "--machine-image; build it: docker build -t gpumesh/machine:latest apps/agent/images/machine"],
      ] as const;
      for (const [image, what, how] of defaults) {
        const present = await imageOnHost(docker.socketPath, image);
        if (present) ok(`${image} is on this machine (${what})`);
        else if (present === false) warn(`${image} is not on this machine: ${what} would be refused with the Docker runtime (${how})`);
      }
    } else warn(`no Docker at ${docker.socketPath} (${docker.detail}): leases run with the process runtime`);
    try {
      const started = Date.now();
      const response = await fetch(new URL("/health", gateway), { signal: AbortSignal.timeout(10_000) });
      const rtt = Date.now() - started;
      if (!response.ok) bad(`gateway ${gateway} answered HTTP ${response.status}`);
      else ok(`gateway ${gateway} reachable (${rtt} ms)`);
      const serverDate = Date.parse(response.headers.get("date") ?? "");
      // The Date header has 1 s resolution: more than 5 s apart is a clock to fix (NTP).
      if (Number.isFinite(serverDate)) {
        const skew = Math.abs(serverDate + 500 - (started + rtt / 2));
        if (skew > 5_000) bad(`clock skew: this machine's clock is ${Math.round(skew / 1000)} s off the gateway's (enable NTP)`);
        else ok("clock within 5 s of the gateway");
      }
    } catch (error) {
      bad(`gateway ${gateway} unreachable: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (options.token) {
      try {
        const response = await fetch(new URL("/join/check", gateway), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: options.token }) });
        const body = (await response.json()) as { error?: { message?: string } };
        if (response.ok) ok("join token is valid");
        else bad(`join token: ${body.error?.message ?? `HTTP ${response.status}`}`);
      } catch (error) {
        bad(`join token not checked: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    console.log(problems ? paint.red(`${problems} problem(s)`) : paint.green("no problems found"));
    process.exitCode = problems ? 1 : 0;
  });

program
  .command("simulate")
  .description("run N simulated devices in this process: simulated hardware, real keys, protocol and gateway (dev network)")
  .requiredOption("--devices <n>", "how many devices", (value) => Number.parseInt(value, 10))
  .option("--first <index>", "index of the first dev device key", (value) => Number.parseInt(value, 10), 0)
  .option("--gateway <url>", "the GPUMesh agent gateway", DEFAULT_GATEWAY)
  .action(async (options: { devices: number; first: number; gateway: string }) => {
    if (!Number.isInteger(options.devices) || options.devices < 1 || options.devices > 100_000) fail("--devices must be an integer 1-100000");
    await runSimulation({ devices: options.devices, first: options.first, gateway: options.gateway });
  });

await program.parseAsync();
