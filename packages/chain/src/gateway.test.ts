import { ComputeBudgetProgram, Keypair, Transaction } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { decodeWireTransaction, verifyAgainstOrder } from "./gateway.ts";
import { TransactionMismatchError } from "./errors.ts";
import { ix } from "./instructions.ts";

const renter = Keypair.generate();
const accounts = { renter: renter.publicKey, mint: Keypair.generate().publicKey, renterToken: Keypair.generate().publicKey };
const terms = { leaseId: 9n, pricePerSecond: 250n, maxSeconds: 3_600n };
const blockhash = Keypair.generate().publicKey.toBase58();
const order = { instructions: [ix.openLease(accounts, terms)], feePayer: renter.publicKey, recentBlockhash: blockhash };

function signed(instructions = order.instructions, signer = renter): Transaction {
  const tx = new Transaction({ feePayer: renter.publicKey, recentBlockhash: blockhash }).add(...instructions);
  tx.sign(signer);
  return decodeWireTransaction(tx.serialize({ requireAllSignatures: false, verifySignatures: false }).toString("base64"));
}

function mismatch(tx: Transaction): string {
  try {
    verifyAgainstOrder(tx, order);
  } catch (error) {
    if (error instanceof TransactionMismatchError) return error.field;
    throw error;
  }
  return "none";
}

describe("verifyAgainstOrder", () => {
  it("accepts the transaction the server built, signed by the renter (compute-budget instructions allowed)", () => {
    expect(mismatch(signed())).toBe("none");
    expect(mismatch(signed([ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }), ...order.instructions]))).toBe("none");
  });

  it("names the field that differs", () => {
    expect(mismatch(signed([ix.openLease(accounts, { ...terms, pricePerSecond: 249n })]))).toBe("open_lease.args.price_per_second");
    expect(mismatch(signed([ix.openLease(accounts, { ...terms, maxSeconds: 1n })]))).toBe("open_lease.args.max_seconds");
    expect(mismatch(signed([ix.openLease({ ...accounts, mint: Keypair.generate().publicKey }, terms)]))).toBe("open_lease.accounts.payment_mint");
    expect(mismatch(signed([ix.openLease({ ...accounts, renterToken: Keypair.generate().publicKey }, terms)]))).toBe("open_lease.accounts.renter_token");
    expect(mismatch(signed([ix.crankEmissions(accounts.mint)]))).toBe("instructions[0].name");
    expect(mismatch(signed([...order.instructions, ix.crankEmissions(accounts.mint)]))).toBe("instructions.length");
  });

  it("requires valid signatures of every signer", () => {
    const tx = signed();
    tx.signatures[0]!.signature![5]! ^= 1;
    expect(mismatch(tx)).toBe("signatures");
    const unsigned = new Transaction({ feePayer: renter.publicKey, recentBlockhash: blockhash }).add(...order.instructions);
    expect(mismatch(decodeWireTransaction(unsigned.serialize({ requireAllSignatures: false }).toString("base64")))).toBe(`signatures.${renter.publicKey.toBase58()}`);
  });
});
