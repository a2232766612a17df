// The Solana side of GPUMesh in TypeScript: the program's IDL, PDAs, transaction builders and the chain
// gateway land here with the chain issue (#4). Until then only the cluster names are shared.
export const SOLANA_CLUSTERS = ["localnet", "devnet", "mainnet-beta"] as const;
export type SolanaCluster = (typeof SOLANA_CLUSTERS)[number];
