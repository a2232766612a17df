import { Connection, Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockhashExpiredError, ChainGateway, sendRawAndConfirm } from "../src/index.ts";
import { airdrop, buildLocalnet, startLocalnet, type RunningLocalnet } from "../src/localnet.ts";

// Server-signed sends against a real programs/localnet node. The only thing injected is the blockhash
// the sender gets: a random one, which the node rejects as "Blockhash not found", like an expired one.

let localnet: RunningLocalnet;

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
}, 900_000);

afterAll(async () => {
  await localnet?.stop();
});

/** A connection whose first `stale` getLatestBlockhash calls hand out a blockhash the node never produced. */
function connectionWithStaleBlockhashes(stale: number) {
  const connection = new Connection(localnet.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
  const real = connection.getLatestBlockhash.bind(connection);
  const calls = { count: 0 };
  connection.getLatestBlockhash = async (...args: Parameters<Connection["getLatestBlockhash"]>) => {
    const latest = await real(...args);
    return calls.count++ < stale ? { ...latest, blockhash: Keypair.generate().publicKey.toBase58() } : latest;
  };
  return { connection, calls };
}

async function fundedPayer() {
  const payer = Keypair.generate();
  await airdrop(localnet.connection, payer.publicKey, 10);
  return payer;
}

describe("server-signed sends with a fresh blockhash", () => {
  it("rebuilds a transaction whose blockhash the node rejects and lands it exactly once", async () => {
    const payer = await fundedPayer();
    const recipient = Keypair.generate().publicKey;
    const { connection, calls } = connectionWithStaleBlockhashes(1);
    const gateway = new ChainGateway(connection, { retries: 3 });

    const landed = await gateway.sendServerSigned(() => [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: LAMPORTS_PER_SOL })], [payer]);

    expect(calls.count).toBe(2); // the stale attempt, then one fresh rebuild
    expect(await localnet.connection.getBalance(recipient, "confirmed")).toBe(LAMPORTS_PER_SOL);
    const history = await localnet.connection.getSignaturesForAddress(recipient, {}, "confirmed");
    expect(history.map((h) => h.signature)).toEqual([landed.signature]);
  });

  it("gives up with a typed BlockhashExpiredError once the retries are spent, and nothing lands", async () => {
    const payer = await fundedPayer();
    const recipient = Keypair.generate().publicKey;
    const { connection, calls } = connectionWithStaleBlockhashes(Number.POSITIVE_INFINITY);
    const gateway = new ChainGateway(connection, { retries: 2 });

    const error = await gateway.sendServerSigned(() => [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: LAMPORTS_PER_SOL })], [payer]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BlockhashExpiredError);
    expect((error as Error).message).toMatch(/blockhash not found/i);
    expect(calls.count).toBe(3); // first attempt + 2 retries
    expect(await localnet.connection.getBalance(recipient, "confirmed")).toBe(0);
    expect(await localnet.connection.getSignaturesForAddress(recipient, {}, "confirmed")).toEqual([]);
  });

  it("treats the same signed bytes sent twice at once (two schedulers, one blockhash) as one success", async () => {
    const payer = await fundedPayer();
    const recipient = Keypair.generate().publicKey;
    const { blockhash, lastValidBlockHeight } = await localnet.connection.getLatestBlockhash("confirmed");
    const tx = new Transaction({ feePayer: payer.publicKey, blockhash, lastValidBlockHeight }).add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: LAMPORTS_PER_SOL }));
    tx.sign(payer);
    const wire = tx.serialize();

    const [first, second] = await Promise.all([sendRawAndConfirm(localnet.connection, wire, lastValidBlockHeight), sendRawAndConfirm(localnet.connection, wire, lastValidBlockHeight)]);
    expect(second.signature).toBe(first.signature);
    expect(await sendRawAndConfirm(localnet.connection, wire, lastValidBlockHeight)).toMatchObject({ signature: first.signature });
    expect(await localnet.connection.getBalance(recipient, "confirmed")).toBe(LAMPORTS_PER_SOL);
  });
});
