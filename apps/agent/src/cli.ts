#!/usr/bin/env -S npx tsx
import { Command } from "commander";
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

await program.parseAsync();
