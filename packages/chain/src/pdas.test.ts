import { readFileSync } from "node:fs";
import path from "node:path";
import { PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { DEV_ADMIN_AUTHORITY, GPUMESH_PROGRAM_ID, pdas, type Pda } from "./pdas.ts";

// programs/gpumesh/tests/vectors.rs writes these from the program's own pda.rs.
const vectors = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../../programs/gpumesh/vectors/pdas.json"), "utf8")) as {
  program_id: string;
  dev_admin: string;
  pdas: { name: string; seeds: ({ utf8: string } | { pubkey: string } | { u64le: string } | { u32le: string } | { hex: string })[]; address: string; bump: number }[];
};

function derive(name: string, seeds: (typeof vectors.pdas)[number]["seeds"]): Pda {
  const key = (i: number) => new PublicKey((seeds[i] as { pubkey: string }).pubkey);
  switch (name) {
    case "config":
      return pdas.config();
    case "mint_authority":
      return pdas.mintAuthority();
    case "rewards_vault":
      return pdas.rewardsVault();
    case "payment_mint":
      return pdas.paymentMint(key(1));
    case "supplier":
      return pdas.supplier(key(1));
    case "claim_record":
      return pdas.claimRecord(key(1));
    case "lease":
      return pdas.lease(key(1), BigInt((seeds[2] as { u64le: string }).u64le));
    case "escrow":
      return pdas.escrow(key(1));
    case "allocation":
      return pdas.allocation(key(1), Number((seeds[2] as { u32le: string }).u32le));
    case "device_stake":
      return pdas.deviceStake(Uint8Array.from(Buffer.from((seeds[1] as { hex: string }).hex, "hex")));
    case "stake_vault":
      return pdas.stakeVault(key(1));
    case "slash_record":
      return pdas.slashRecord(key(1), Uint8Array.from(Buffer.from((seeds[2] as { hex: string }).hex, "hex")));
    default:
      throw new Error(`no helper for PDA ${name}`);
  }
}

describe("PDAs match the program (pdas.json)", () => {
  it("uses the program id and dev admin of the vectors", () => {
    expect(GPUMESH_PROGRAM_ID.toBase58()).toBe(vectors.program_id);
    expect(DEV_ADMIN_AUTHORITY.toBase58()).toBe(vectors.dev_admin);
  });

  it("derives every PDA's address and bump exactly", () => {
    expect(vectors.pdas.length).toBeGreaterThanOrEqual(20);
    expect(new Set(vectors.pdas.map((row) => row.name))).toContain("device_stake");
    expect(new Set(vectors.pdas.map((row) => row.name))).toContain("slash_record");
    for (const row of vectors.pdas) {
      const [address, bump] = derive(row.name, row.seeds);
      expect({ name: row.name, address: address.toBase58(), bump }).toEqual({ name: row.name, address: row.address, bump: row.bump });
    }
  });

  it("derives a device's stake from its UUID text exactly as from its 16 bytes", () => {
    const row = vectors.pdas.find((r) => r.name === "device_stake" && (r.seeds[1] as { hex: string }).hex.startsWith("6f1c"))!;
    expect(pdas.deviceStake("6f1c2a90-4b3e-4d0a-9c11-5e7d20334158")[0].toBase58()).toBe(row.address);
    expect(pdas.deviceStake("6F1C2A904B3E4D0A9C115E7D20334158")[0].toBase58()).toBe(row.address);
  });
});
