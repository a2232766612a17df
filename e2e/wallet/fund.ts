import { airdrop, fundTokens, localnetAccounts } from "@gpumesh/chain/localnet";
import { Connection, type Keypair, PublicKey } from "@solana/web3.js";

export interface RenterFunds {
  /** Whole SOL airdropped for fees and rent (default 10). */
  sol?: number;
  /** USDC in base units (6 decimals), minted by the dev USDC authority (default 0: the account is still created). */
  usdc?: bigint;
  /** MESH in base units (6 decimals), from the dev genesis faucet (default 0: the account is still created). */
  mesh?: bigint;
}

export interface FundedRenter {
  /** The renter's USDC and MESH token accounts (associated token accounts). */
  usdcAccount: PublicKey;
  meshAccount: PublicKey;
}

/**
 * Funds a renter on `pnpm dev`'s chain (localnet, or a local validator it bootstrapped) from the
 * deterministic dev keys `bootstrapLocalnet` uses (the admin's MESH faucet, the USDC mint
 * authority): nothing is read from the data directory, those keys are derived, never stored.
 */
export async function fundRenter(rpcUrl: string, renter: Keypair | PublicKey, funds: RenterFunds = {}): Promise<FundedRenter> {
  const connection = new Connection(rpcUrl, "confirmed");
  const owner = renter instanceof PublicKey ? renter : renter.publicKey;
  const accounts = localnetAccounts();
  await airdrop(connection, owner, funds.sol ?? 10);
  const usdcAccount = await fundTokens(connection, accounts, accounts.usdcMint, owner, funds.usdc ?? 0n);
  const meshAccount = await fundTokens(connection, accounts, accounts.meshMint, owner, funds.mesh ?? 0n);
  return { usdcAccount, meshAccount };
}
