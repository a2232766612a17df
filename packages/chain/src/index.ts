// The Solana side of GPUMesh in TypeScript: the program's IDL and a typed client, PDAs, instruction
// builders, event decoding, the chain gateway (verify → submit → confirm → record) and the indexer.
// Node-only parts are separate entry points: `@gpumesh/chain/localnet` (build / start / bootstrap programs/localnet) and `@gpumesh/chain/store`
// (the Postgres recorders and index store).
export const SOLANA_CLUSTERS = ["localnet", "devnet", "mainnet-beta"] as const;
export type SolanaCluster = (typeof SOLANA_CLUSTERS)[number];

export * from "./idl.ts";
export * from "./pdas.ts";
export * from "./program.ts";
export * from "./config.ts";
export * from "./instructions.ts";
export * from "./events.ts";
export * from "./errors.ts";
export * from "./send.ts";
export * from "./gateway.ts";
export * from "./lease.ts";
export * from "./stake.ts";
export * from "./indexer.ts";
