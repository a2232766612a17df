import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@/": `${path.resolve("apps/web/src")}/` } },
  // .tsx tests compile JSX as Next does (the React 17+ runtime; no `import React`).
  esbuild: { jsx: "automatic" },
  test: {
    include: ["{packages,apps}/*/{src,test}/**/*.test.{ts,tsx}", "bench/**/*.test.ts", "scripts/**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**"],
    globalSetup: ["./vitest.global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
