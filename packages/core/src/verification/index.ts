export * from "./gemm.ts";
export * from "./row-tree.ts";
export * from "./protocol.ts";
export * from "./timing.ts";
export * from "./score.ts";
