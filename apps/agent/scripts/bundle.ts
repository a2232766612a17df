// Bundles the agent CLI into one file, dist/gpumesh-agent.mjs, that runs on plain Node 20 without the
// monorepo, tsx or pnpm: what the npm package's `bin` and the container image (apps/agent/Dockerfile) run.
import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "dist/gpumesh-agent.mjs");
await build({
  entryPoints: [path.join(root, "src/cli.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // CommonJS dependencies (dockerode, ws, ssh2) call require() and read __dirname; give the ESM bundle both.
  banner: {
    js: [
      "import { createRequire as __gpumeshRequire } from 'node:module';",
      "import { fileURLToPath as __gpumeshPath } from 'node:url';",
      "import { dirname as __gpumeshDirname } from 'node:path';",
      "const require = __gpumeshRequire(import.meta.url);",
      "const __filename = __gpumeshPath(import.meta.url);",
      "const __dirname = __gpumeshDirname(__filename);",
    ].join(" "),
  },
  // Optional native speed-ups with pure-JS fallbacks (ws, ssh2 through dockerode): left out.
  external: ["bufferutil", "utf-8-validate", "cpu-features", "*.node"],
  logLevel: "warning",
});
// The entry's own hashbang runs it through tsx (the source layout); the bundle runs on plain node.
const code = (await readFile(outfile, "utf8")).replace(/^#!.*\n/, "");
await writeFile(outfile, `#!/usr/bin/env node\n${code}`);
await chmod(outfile, 0o755);
console.log(`bundled ${path.relative(process.cwd(), outfile)}`);
