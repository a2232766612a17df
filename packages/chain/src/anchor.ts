// @coral-xyz/anchor ships CommonJS to Node (no "exports" map), and Node's named-export detection
// misses most of its exports (BN, BorshCoder, …): in Node the namespace's `default` is module.exports.
// Webpack (Next, where anchor is an external) honours its `__esModule` flag instead, so there the
// namespace itself holds the exports and `default` is absent. `default ?? namespace` works in both.
import * as anchorModule from "@coral-xyz/anchor";
import type BNType from "bn.js";

const anchor = ((anchorModule as unknown as { default?: typeof anchorModule }).default ?? anchorModule) as typeof anchorModule;

export const { BN, BorshCoder, EventParser, Program } = anchor;
export type BN = BNType;
export type Program = InstanceType<typeof anchor.Program>;
export type { Idl, Provider } from "@coral-xyz/anchor";
