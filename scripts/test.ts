// `pnpm test`: every check of every package and app, on real services.
// lint → typecheck → (real Postgres + Redis) unit and integration tests → Rust program tests →
// browser tests. Every step runs even when an earlier one fails, so one run shows everything; the exit
// code is non-zero if any step failed. Services are throwaway and stopped at the end.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "@gpumesh/db";
import { startTestServices } from "@gpumesh/devstack";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const bin = (name: string) => path.join(root, "node_modules/.bin", name);

interface StepResult {
  name: string;
  ok: boolean;
  seconds: number;
  passed: number;
  failed: number;
}
const results: StepResult[] = [];

function exec(command: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", (error) => {
      console.error(error);
      resolve(1);
    });
  });
}

async function step(name: string, run: () => Promise<{ ok: boolean; passed?: number; failed?: number }>): Promise<void> {
  if (only.length && !only.includes(name)) return;
  console.log(`\n\x1b[1m▶ ${name}\x1b[0m`);
  const started = performance.now();
  let outcome: { ok: boolean; passed?: number; failed?: number };
  try {
    outcome = await run();
  } catch (error) {
    console.error(error);
    outcome = { ok: false };
  }
  const seconds = (performance.now() - started) / 1000;
  results.push({ name, ok: outcome.ok, seconds, passed: outcome.passed ?? 0, failed: outcome.failed ?? (outcome.ok ? 0 : 1) });
  console.log(`${outcome.ok ? "\x1b[32m✔" : "\x1b[31m✘"} ${name}\x1b[0m (${seconds.toFixed(1)}s)`);
}

function vitestCounts(file: string): { passed: number; failed: number } {
  if (!existsSync(file)) return { passed: 0, failed: 1 };
  const report = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number };
  return { passed: report.numPassedTests, failed: report.numFailedTests };
}

await step("lint", async () => ({ ok: (await exec(bin("eslint"), [".", "--max-warnings", "0"])) === 0 }));
await step("typecheck", async () => ({
  ok: (await exec(bin("turbo"), ["run", "typecheck", "--output-logs=errors-only"])) === 0 && (await exec(bin("tsc"), ["-p", "tsconfig.json"])) === 0,
}));

const needsServices = !only.length || only.some((name) => ["unit", "e2e"].includes(name));
const services = needsServices ? await startTestServices({ prepareTemplate: (url) => migrate(url) }) : undefined;
try {
  // Rust first: it builds the program and localnet that the chain integration tests spawn.
  await step("rust", async () => {
    if (!existsSync(path.join(root, "scripts/test-rust.sh"))) return { ok: true };
    let passed = 0;
    let failed = 0;
    const code = await new Promise<number>((resolve) => {
      const child = spawn("bash", ["scripts/test-rust.sh"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        process.stdout.write(chunk);
        output += chunk.toString();
      });
      child.on("exit", (exitCode) => {
        // Counted once at the end: a result line can straddle two chunks.
        for (const match of output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
          passed += Number(match[1]);
          failed += Number(match[2]);
        }
        resolve(exitCode ?? 1);
      });
    });
    return { ok: code === 0, passed, failed: code === 0 ? failed : Math.max(failed, 1) };
  });

  await step("unit", async () => {
    const report = path.join(os.tmpdir(), `gpumesh-vitest-${process.pid}.json`);
    const code = await exec(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], services!.env);
    const counts = vitestCounts(report);
    rmSync(report, { force: true });
    return { ok: code === 0 && counts.failed === 0, ...counts };
  });

  await step("e2e", async () => {
    if (!existsSync(path.join(root, "e2e/playwright.config.ts"))) return { ok: true };
    const report = path.join(os.tmpdir(), `gpumesh-playwright-${process.pid}.json`);
    const code = await exec(bin("playwright"), ["test", "-c", "e2e/playwright.config.ts"], { ...services!.env, PLAYWRIGHT_JSON_OUTPUT_NAME: report });
    let passed = 0;
    let failed = code === 0 ? 0 : 1;
    if (existsSync(report)) {
      const stats = (JSON.parse(readFileSync(report, "utf8")) as { stats: { expected: number; unexpected: number; flaky: number } }).stats;
      passed = stats.expected + stats.flaky;
      failed = stats.unexpected;
      rmSync(report, { force: true });
    }
    return { ok: code === 0 && failed === 0, passed, failed };
  });
} finally {
  await services?.stop();
}

console.log("\n\x1b[1mSummary\x1b[0m");
for (const result of results) {
  const counts = result.passed || result.failed ? `  ${result.passed} passed, ${result.failed} failed` : "";
  console.log(`  ${result.ok ? "✔" : "✘"} ${result.name.padEnd(10)} ${result.seconds.toFixed(1).padStart(6)}s${counts}`);
}
const passed = results.reduce((sum, result) => sum + result.passed, 0);
const failed = results.reduce((sum, result) => sum + result.failed, 0);
const ok = results.every((result) => result.ok);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
