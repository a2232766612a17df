import type { Idl } from "@coral-xyz/anchor";
import idlJson from "../../../programs/gpumesh/idl/gpumesh.json" with { type: "json" };

/**
 * The gpumesh program's Anchor IDL, exactly as the program's `tests/idl.rs` writes it (names in
 * snake_case, as on the Rust side). Anchor's `Program` camel-cases it; the coders here use it raw.
 */
export const GPUMESH_IDL: Idl = idlJson as unknown as Idl;

export type GpumeshInstructionName =
  | "initialize"
  | "update_config"
  | "propose_admin"
  | "accept_admin"
  | "set_paused"
  | "set_payment_mint"
  | "register_supplier"
  | "set_payout_wallet"
  | "open_lease"
  | "activate_lease"
  | "add_allocation"
  | "release_allocation"
  | "settle_allocation"
  | "end_lease"
  | "close_lease"
  | "cancel_lease"
  | "extend_lease"
  | "crank_emissions"
  | "post_reward_root"
  | "claim_rewards"
  | "stake_device"
  | "request_unstake"
  | "withdraw_stake"
  | "slash_stake";
