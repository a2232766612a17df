// @coral-xyz/anchor ships CommonJS to Node (no "exports" map), and Node's named-export detection
// misses most of its exports (BN, BorshCoder, …). A default import works in Node, tsx, Vitest and
// bundlers alike.
import anchor from "@coral-xyz/anchor";
import type BNType from "bn.js";

export const { BN, BorshCoder, EventParser, Program } = anchor;
export type BN = BNType;
export type Program = InstanceType<typeof anchor.Program>;
export type { Idl, Provider } from "@coral-xyz/anchor";
