#!/usr/bin/env -S npx tsx
import { Command } from "commander";
import { loadAgentEnv } from "./env.ts";
import { detectHardware } from "./hardware.ts";

const program = new Command()
  .name("gpumesh-agent")
  .description("GPUMesh node agent: detects, proves and serves this machine's GPUs to the network");

program
  .command("detect")
  .description("print the hardware this machine would register (CPU, RAM, GPUs)")
  .option("--json", "machine-readable output")
  .action((options: { json?: boolean }) => {
    const hardware = detectHardware();
    if (options.json) {
      console.log(JSON.stringify(hardware, null, 2));
      return;
    }
    console.log(`CPU   ${hardware.cpuModel} (${hardware.cpuCores} threads)`);
    console.log(`RAM   ${hardware.ramGb} GB`);
    if (hardware.gpus.length === 0) console.log("GPUs  none found (nvidia-smi unavailable): this machine can join as a CPU device");
    for (const [index, gpu] of hardware.gpus.entries()) {
      console.log(`GPU ${index} ${gpu.name}, ${Math.round(gpu.vramMb / 1024)} GB${gpu.gpuModelId ? ` → ${gpu.gpuModelId}` : " (not in the GPUMesh catalogue)"}`);
    }
  });

program
  .command("ping")
  .description("check that the GPUMesh API (GPUMESH_API_URL) is reachable and healthy")
  .action(async () => {
    const { GPUMESH_API_URL } = loadAgentEnv();
    const url = new URL("/api/health", GPUMESH_API_URL);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { status?: string };
      if (!response.ok || body.status !== "ok") throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
      console.log(`GPUMesh API at ${GPUMESH_API_URL} is healthy`);
    } catch (error) {
      console.error(`cannot reach the GPUMesh API at ${url}: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
