import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { expect, test, type Page } from "@playwright/test";
import { Connection, Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";
import { fundRenter, installTestWallet, testWalletScript, walletStandardAppScript } from "./wallet/index.ts";

// The browser tests' wallet (./wallet) on a page of its own, not the product: the page lists the
// Wallet Standard wallets the way an app does (`@wallet-standard/app`), connects, and has a message
// and transactions signed; the signatures verify with the renter's key and `pnpm dev`'s localnet
// accepts what it signed.

declare global {
  interface Window {
    /** The test page's helpers (inline script below): byte arrays cross `page.evaluate` as number arrays. */
    pageApi: PageApi;
  }
}

interface PageApi {
  wallets(): { name: string; features: string[]; chains: string[]; icon: string }[];
  connect(): Promise<string[]>;
  accounts(): string[];
  changes(): string[][];
  signMessage(message: number[]): Promise<{ signature: number[]; signedMessage: number[] }>;
  signTransaction(transaction: number[]): Promise<number[]>;
  signAndSendTransaction(transaction: number[]): Promise<number[]>;
  signIn(input: { statement: string; nonce: string }): Promise<{ address: string; signature: number[]; signedMessage: number[] }>;
  disconnect(): Promise<void>;
}

const WALLET = "GPUMesh Test Wallet";
const PAGE_PATH = "/__e2e__/wallet-test";

const pageScript = `
const app = window.walletStandardApp.getWallets();
const wallet = () => app.get().find((w) => w.name === ${JSON.stringify(WALLET)});
const account = () => wallet().accounts[0];
const bytes = (array) => Uint8Array.from(array);
const list = () => {
  const ul = document.getElementById("wallets");
  ul.replaceChildren(...app.get().map((w) => {
    const li = document.createElement("li");
    li.dataset.testid = "wallet";
    const img = document.createElement("img");
    img.src = w.icon; img.alt = ""; img.width = 24; img.height = 24;
    li.append(img, " " + w.name);
    return li;
  }));
};
const changes = [];
list();
app.on("register", list);
if (wallet()) wallet().features["standard:events"].on("change", ({ accounts }) => changes.push(accounts.map((a) => a.address)));
window.pageApi = {
  wallets: () => app.get().map((w) => ({ name: w.name, features: Object.keys(w.features), chains: [...w.chains], icon: w.icon })),
  connect: async () => (await wallet().features["standard:connect"].connect()).accounts.map((a) => a.address),
  accounts: () => wallet().accounts.map((a) => a.address),
  changes: () => changes,
  signMessage: async (message) => {
    const [out] = await wallet().features["solana:signMessage"].signMessage({ account: account(), message: bytes(message) });
    return { signature: [...out.signature], signedMessage: [...out.signedMessage] };
  },
  signTransaction: async (transaction) => {
    const [out] = await wallet().features["solana:signTransaction"].signTransaction({ account: account(), transaction: bytes(transaction), chain: "solana:localnet" });
    return [...out.signedTransaction];
  },
  signAndSendTransaction: async (transaction) => {
    const [out] = await wallet().features["solana:signAndSendTransaction"].signAndSendTransaction({ account: account(), transaction: bytes(transaction), chain: "solana:localnet" });
    return [...out.signature];
  },
  signIn: async ({ statement, nonce }) => {
    const [out] = await wallet().features["solana:signIn"].signIn({ statement, nonce });
    return { address: out.account.address, signature: [...out.signature], signedMessage: [...out.signedMessage] };
  },
  disconnect: () => wallet().features["standard:disconnect"].disconnect(),
};
`;

/** The wallet is installed already (init script); the page is served by the test itself. */
async function openTestPage(page: Page): Promise<void> {
  const appScript = await walletStandardAppScript();
  // Served by the test itself on the web app's origin (loopback, like the product), never by the app.
  await page.route(`**${PAGE_PATH}`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Wallet test</title></head>
<body><h1>Wallets</h1><ul id="wallets"></ul><script>${appScript}</script><script>${pageScript}</script></body></html>`,
    }),
  );
  await page.goto(PAGE_PATH);
}

const connection = new Connection(E2E_LOCALNET_URL, "confirmed");

async function confirmed(signature: string): Promise<void> {
  await expect
    .poll(async () => (await connection.getSignatureStatuses([signature])).value[0]?.confirmationStatus ?? null, { timeout: 15_000 })
    .toMatch(/confirmed|finalized/);
}

test("the test wallet registers, connects and signs messages and transactions with the renter's key", async ({ page }) => {
  const renter = Keypair.generate();
  const funded = await fundRenter(E2E_LOCALNET_URL, renter, { sol: 2, usdc: 250_000_000n, mesh: 40_000_000n });
  expect(await connection.getBalance(renter.publicKey)).toBe(2 * LAMPORTS_PER_SOL);
  expect((await connection.getTokenAccountBalance(funded.usdcAccount)).value.amount).toBe("250000000");
  expect((await connection.getTokenAccountBalance(funded.meshAccount)).value.amount).toBe("40000000");

  await installTestWallet(page, renter.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  await openTestPage(page);
  const address = renter.publicKey.toBase58();

  // Listed like any installed wallet, with its icon, chains and features.
  await expect(page.getByTestId("wallet")).toHaveText([WALLET]);
  const [listed] = await page.evaluate(() => window.pageApi.wallets());
  expect(listed).toMatchObject({ name: WALLET, chains: ["solana:localnet", "solana:devnet"] });
  expect(listed!.icon).toMatch(/^data:image\/svg\+xml;base64,/);
  expect(listed!.features).toEqual(
    expect.arrayContaining(["standard:connect", "standard:disconnect", "standard:events", "solana:signMessage", "solana:signTransaction", "solana:signAndSendTransaction", "solana:signIn"]),
  );
  expect(await page.evaluate(() => window.pageApi.accounts())).toEqual([]);

  expect(await page.evaluate(() => window.pageApi.connect())).toEqual([address]);
  expect(await page.evaluate(() => window.pageApi.changes())).toEqual([[address]]);

  // A message: the signature verifies with the renter's public key.
  const message = new TextEncoder().encode(`GPUMesh wallet test ${Date.now()}`);
  const signedMessage = await page.evaluate((m) => window.pageApi.signMessage(m), Array.from(message));
  expect(Uint8Array.from(signedMessage.signedMessage)).toEqual(message);
  expect(ed25519.verify(Uint8Array.from(signedMessage.signature), message, renter.publicKey.toBytes())).toBe(true);

  // A legacy transaction built elsewhere (as the server builds open_lease): signed in the slot of
  // the renter, which pays; localnet accepts it.
  const recipient = Keypair.generate().publicKey;
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash("confirmed");
  const transfer = (lamports: number) =>
    new Transaction({ feePayer: renter.publicKey, blockhash, lastValidBlockHeight }).add(SystemProgram.transfer({ fromPubkey: renter.publicKey, toPubkey: recipient, lamports }));
  const unsigned = transfer(LAMPORTS_PER_SOL / 10);
  const wire = unsigned.serialize({ requireAllSignatures: false, verifySignatures: false });
  const signed = Transaction.from(Uint8Array.from(await page.evaluate((t) => window.pageApi.signTransaction(t), Array.from(wire))));
  expect(signed.verifySignatures()).toBe(true);
  expect(ed25519.verify(signed.signature!, unsigned.serializeMessage(), renter.publicKey.toBytes())).toBe(true);
  expect(signed.serializeMessage()).toEqual(unsigned.serializeMessage());
  await confirmed(await connection.sendRawTransaction(signed.serialize()));
  expect(await connection.getBalance(recipient)).toBe(LAMPORTS_PER_SOL / 10);

  // A v0 transaction signs the same way.
  const v0 = new VersionedTransaction(
    new TransactionMessage({ payerKey: renter.publicKey, recentBlockhash: blockhash, instructions: [SystemProgram.transfer({ fromPubkey: renter.publicKey, toPubkey: recipient, lamports: 5_000 })] }).compileToV0Message(),
  );
  const signedV0 = VersionedTransaction.deserialize(Uint8Array.from(await page.evaluate((t) => window.pageApi.signTransaction(t), Array.from(v0.serialize()))));
  expect(ed25519.verify(signedV0.signatures[0]!, signedV0.message.serialize(), renter.publicKey.toBytes())).toBe(true);

  // signAndSendTransaction: the wallet submits to localnet itself and returns the signature.
  const toSend = transfer(LAMPORTS_PER_SOL / 5).serialize({ requireAllSignatures: false, verifySignatures: false });
  const sent = await page.evaluate((t) => window.pageApi.signAndSendTransaction(t), Array.from(toSend));
  await confirmed(base58.encode(Uint8Array.from(sent)));
  expect(await connection.getBalance(recipient)).toBe(LAMPORTS_PER_SOL / 10 + LAMPORTS_PER_SOL / 5);

  // Sign-In With Solana: the message names the page's domain, the account and the nonce.
  const signIn = await page.evaluate((input) => window.pageApi.signIn(input), { statement: "Sign in to GPUMesh", nonce: "e2enonce123" });
  const signInText = new TextDecoder().decode(Uint8Array.from(signIn.signedMessage));
  expect(signIn.address).toBe(address);
  expect(signInText).toContain(`${new URL(page.url()).host} wants you to sign in with your Solana account:\n${address}`);
  expect(signInText).toContain("Nonce: e2enonce123");
  expect(ed25519.verify(Uint8Array.from(signIn.signature), Uint8Array.from(signIn.signedMessage), renter.publicKey.toBytes())).toBe(true);

  // What the page asked for, in order, as a spec on the product can check it.
  const requests = await page.evaluate(() => window.__gpumeshTestWallet!.requests.map((r) => r.feature));
  expect(requests).toEqual(["standard:connect", "solana:signMessage", "solana:signTransaction", "solana:signTransaction", "solana:signAndSendTransaction", "solana:signIn"]);

  await page.evaluate(() => window.pageApi.disconnect());
  expect(await page.evaluate(() => window.pageApi.accounts())).toEqual([]);
  expect(await page.evaluate(() => window.pageApi.changes())).toEqual([[address], []]);
});

test("the test wallet can play a user who says no", async ({ page }) => {
  const renter = Keypair.generate();
  // The plain init script (no RPC: no signAndSendTransaction).
  await page.addInitScript(await testWalletScript(renter.secretKey));
  await openTestPage(page);
  expect((await page.evaluate(() => window.pageApi.wallets()))[0]!.features).not.toContain("solana:signAndSendTransaction");
  await page.evaluate(() => {
    window.__gpumeshTestWallet!.rejectRequests = true;
  });
  await expect(page.evaluate(() => window.pageApi.connect())).rejects.toThrow(/User rejected the request/);
  await page.evaluate(() => {
    window.__gpumeshTestWallet!.rejectRequests = false;
  });
  expect(await page.evaluate(() => window.pageApi.connect())).toEqual([renter.publicKey.toBase58()]);
  // A key that is not the wallet's: it refuses to sign rather than sign something else's slot.
  const stranger = new PublicKey(Keypair.generate().publicKey.toBytes());
  const { blockhash } = await connection.getLatestBlockhash("confirmed");
  const foreign = new Transaction({ feePayer: stranger, recentBlockhash: blockhash }).add(SystemProgram.transfer({ fromPubkey: stranger, toPubkey: renter.publicKey, lamports: 1 }));
  await expect(page.evaluate((t) => window.pageApi.signTransaction(t), Array.from(foreign.serialize({ requireAllSignatures: false, verifySignatures: false })))).rejects.toThrow(/does not ask the wallet's account to sign/);
});
