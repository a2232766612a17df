import type { NextConfig } from "next";

// Two `next dev` of this app at once (a developer's `pnpm dev` and the browser tests' own stack) must
// not share a build directory: they would overwrite each other's output mid-request. `pnpm dev` on a
// port other than 3000 names its own (scripts/dev.ts), with a tsconfig of its own beside it, because
// Next writes the build directory's type paths into the tsconfig it uses.
const distDir = process.env.GPUMESH_NEXT_DIST_DIR;

const config: NextConfig = {
  ...(distDir ? { distDir, typescript: { tsconfigPath: `${distDir}.tsconfig.json` } } : {}),
  // Workspace packages ship TypeScript source; Next compiles them with the app.
  transpilePackages: ["@gpumesh/core", "@gpumesh/db", "@gpumesh/chain", "@gpumesh/queue"],
  // Server packages load from node_modules at run time instead of being bundled (a package must be a
  // dependency of this app to be external). @coral-xyz/anchor in particular: bundled, webpack picks its
  // ES build, which lacks the default export packages/chain imports. @prisma/client is bundled on
  // purpose: as an external, the generated client's `Prisma.sql` fragments and `$queryRaw` came from
  // two copies of its runtime, so nested SQL fragments were sent as parameters.
  serverExternalPackages: ["pg", "@prisma/adapter-pg", "@coral-xyz/anchor", "@solana/web3.js", "@solana/spl-token", "pino", "ioredis", "bullmq"],
  poweredByHeader: false,
  typedRoutes: false,
  eslint: { ignoreDuringBuilds: true },
};

export default config;
