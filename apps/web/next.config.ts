import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages ship TypeScript source; Next compiles them with the app.
  transpilePackages: ["@gpumesh/core", "@gpumesh/db", "@gpumesh/chain"],
  // Native-ish server packages stay outside the bundle and load from node_modules at run time.
  serverExternalPackages: ["pg", "@prisma/client", "@prisma/adapter-pg", "@coral-xyz/anchor", "@solana/web3.js", "@solana/spl-token", "pino", "ioredis", "bullmq"],
  poweredByHeader: false,
  typedRoutes: false,
  eslint: { ignoreDuringBuilds: true },
};

export default config;
