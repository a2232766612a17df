import { randomUUID } from "node:crypto";
import { associatedTokenAddress, decodeInstruction, ix, pdas } from "@gpumesh/chain";
import { expect, test } from "@playwright/test";
import { SystemProgram, Transaction, type Keypair } from "@solana/web3.js";
import { chain, expectError, firstQuote, json, sessionCookie, signedInRenter, signWire, until, usdc, USDC_MINT, type Renter } from "./api/session.ts";

// Renting over the API with a real wallet key on `pnpm dev`'s localnet: quote → the server's
// open_lease → sign → pay → RUNNING → extend → terminate → ENDED and refunded. Every refusal is the
// error envelope, and the money is checked on-chain to the base unit after each step: a refused
// payment moves nothing, a replayed one is charged once, and at the end the wallet has paid exactly
// the deposit plus the extension minus the refund, which is what the served time cost.

test.skip(({ isMobile }) => isMobile, "HTTP only: runs once, in the laptop project");
// `pnpm dev` compiles each route on its first request (a minute on a busy machine), and the chain
// steps (deploy, end, refund) take seconds each: a generous bound per test.
test.describe.configure({ mode: "serial", timeout: 240_000 });

interface Market {
  gpuModelId: string;
  region: string;
  freeGpus: number;
  pricePerGpuHour: string | null;
}
interface HeldQuote {
  clusterId: string;
  breakdown: { pricePerSecond: string; total: string };
}
interface QuoteView {
  clusterId: string;
  status: string;
  pricePerSecond: string;
  depositAmount: string;
}
interface Order {
  transaction: string;
  amount: string;
  token: string;
}
interface Paid {
  clusterId: string;
  signature: string;
  amount: string;
  token: string;
  status: string;
}
interface Receipt {
  kind: "DEPOSIT" | "EXTENSION" | "REFUND";
  amount: string;
  token: string;
  signature: string;
}
interface Cluster {
  id: string;
  status: string;
  pricePerSecond: string;
  depositAmount: string;
  startedAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  endRequestedAt: string | null;
  secondsLeft: number | null;
  costSoFar: string;
  settled: string;
  nodes: { allocationId: string; state: string; gpuCount: number; ratePerSecond: string | null; servedSeconds: string }[];
  timeline: { to: string; reason: string }[];
  receipts: Receipt[];
}
interface Terminated {
  clusterId: string;
  endRequestedAt: string | null;
  status: string;
}

const HOUR = 3_600n;
const TERMINAL = ["ENDED", "FAILED", "REFUNDED"];
const FUNDS = 1_000_000_000n; // 1,000 dev USDC

let alice: Renter;
let bob: Renter;
/** Where a one-GPU, one-hour quote may be had, cheapest market first. */
let attempts: Record<string, unknown>[];
/** The cluster alice pays for and runs through every step. */
let clusterId: string;
let aliceStart: bigint;
/** Its on-chain lease id, as the server assigned it in the open_lease. */
let leaseId: bigint;

const cluster = async (renter: Renter, id = clusterId) => json<Cluster>(await renter.api.get(`/api/v1/clusters/${id}`));
const QUOTE = { name: "e2e api rent", type: "CONTAINER", gpuCount: 1, durationHours: 1 };
const quote = async (renter: Renter) => (await firstQuote<HeldQuote>(renter.api, QUOTE, attempts)).quote;
const order = async (renter: Renter, id: string) => json<Order>(await renter.api.post(`/api/v1/quotes/${id}/transaction`));
const sum = (receipts: Receipt[], kind: Receipt["kind"]) => receipts.filter((r) => r.kind === kind).reduce((total, r) => total + BigInt(r.amount), 0n);

/** The one GPUMesh instruction of a server-built transaction, decoded. */
function decoded(wire: string) {
  const tx = Transaction.from(Buffer.from(wire, "base64"));
  const [instruction] = tx.instructions.map((i) => decodeInstruction(i)).filter((d) => d !== null);
  if (!instruction) throw new Error("no GPUMesh instruction in the order");
  return { tx, instruction };
}

/** The order's transaction with its instructions replaced (same fee payer and blockhash), signed by `keypair`. */
function forged(wire: string, keypair: Keypair, build: (original: Transaction) => Transaction["instructions"]): string {
  const original = Transaction.from(Buffer.from(wire, "base64"));
  const tx = new Transaction({ feePayer: original.feePayer!, blockhash: original.recentBlockhash!, lastValidBlockHeight: 0 }).add(...build(original));
  tx.partialSign(keypair);
  return tx.serialize().toString("base64");
}

function bigintArg(value: unknown): bigint {
  return BigInt((value as { toString(): string }).toString());
}

test.beforeAll(async ({ playwright }, info) => {
  const baseURL = info.project.use.baseURL!;
  [alice, bob] = await Promise.all([signedInRenter(playwright, baseURL, { usdc: FUNDS }), signedInRenter(playwright, baseURL, { usdc: FUNDS })]);
  const { markets } = await json<{ markets: Market[] }>(await alice.api.get("/api/v1/availability"));
  attempts = markets
    .filter((m) => m.pricePerGpuHour !== null && m.freeGpus > 0)
    .sort((a, b) => Number(BigInt(a.pricePerGpuHour!) - BigInt(b.pricePerGpuHour!)))
    .slice(0, 10)
    .map((m) => ({ gpuModelIds: [m.gpuModelId], regions: [m.region] }));
});

test.afterAll(async () => {
  await Promise.all([alice?.api.dispose(), bob?.api.dispose()]);
});

test("paying: another account sees 404, a tampered transaction is 400 and charges nothing, a replay is charged once", async () => {
  aliceStart = await usdc(alice);
  expect(aliceStart).toBe(FUNDS);
  const held = await quote(alice);
  clusterId = held.clusterId;
  const view = await json<QuoteView>(await alice.api.get(`/api/v1/quotes/${clusterId}`));
  const deposit = BigInt(view.depositAmount);
  expect(deposit).toBe(BigInt(held.breakdown.total));

  // Another account: the quote does not exist for it, on every route.
  await expectError(await bob.api.post(`/api/v1/quotes/${clusterId}/transaction`), 404, "NOT_FOUND");
  await expectError(await bob.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: "AAAA" } }), 404, "NOT_FOUND");
  // Word for word what a quote that does not exist gets: nothing tells the two apart.
  const hidden = await expectError(await bob.api.get(`/api/v1/quotes/${clusterId}`), 404, "NOT_FOUND");
  expect(await expectError(await bob.api.get(`/api/v1/quotes/${randomUUID()}`), 404, "NOT_FOUND")).toEqual(hidden);
  // An unpaid quote has nothing to terminate.
  await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/terminate`), 409, "CONFLICT");

  // A payment before the server built the transaction: refused, nothing submitted.
  const selfMade = new Transaction({ feePayer: alice.keypair.publicKey, blockhash: (await chain.getLatestBlockhash()).blockhash, lastValidBlockHeight: 0 }).add(
    ix.openLease({ renter: alice.keypair.publicKey, mint: USDC_MINT, renterToken: alice.usdcAccount }, { leaseId: 42n, pricePerSecond: 1n, maxSeconds: HOUR }),
  );
  selfMade.partialSign(alice.keypair);
  await expectError(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: selfMade.serialize().toString("base64") } }), 409, "CONFLICT", "transaction");
  expect(await usdc(alice)).toBe(aliceStart);

  const { transaction, amount, token } = await order(alice, clusterId);
  expect([BigInt(amount), token]).toEqual([deposit, "USDC"]);
  const { instruction } = decoded(transaction);
  expect(instruction.name).toBe("open_lease");
  const terms = { leaseId: bigintArg(instruction.args.lease_id), pricePerSecond: bigintArg(instruction.args.price_per_second), maxSeconds: bigintArg(instruction.args.max_seconds) };
  expect(terms.pricePerSecond).toBe(BigInt(view.pricePerSecond));
  expect(terms.maxSeconds).toBe(HOUR);
  leaseId = terms.leaseId;
  const accounts = { renter: alice.keypair.publicKey, mint: USDC_MINT, renterToken: associatedTokenAddress(USDC_MINT, alice.keypair.publicKey) };

  // Tampered: a lower price, another lease id, a longer lease, an extra instruction, garbage bytes.
  const tampered = [
    forged(transaction, alice.keypair, () => [ix.openLease(accounts, { ...terms, pricePerSecond: terms.pricePerSecond - 1n })]),
    forged(transaction, alice.keypair, () => [ix.openLease(accounts, { ...terms, leaseId: terms.leaseId + 1n })]),
    forged(transaction, alice.keypair, () => [ix.openLease(accounts, { ...terms, maxSeconds: terms.maxSeconds * 2n })]),
    forged(transaction, alice.keypair, (original) => [...original.instructions, SystemProgram.transfer({ fromPubkey: alice.keypair.publicKey, toPubkey: bob.keypair.publicKey, lamports: 1 })]),
    Buffer.from("not a transaction at all").toString("base64"),
  ];
  for (const wire of tampered) {
    await expectError(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: wire } }), 400, "TRANSACTION_MISMATCH", "transaction");
  }
  // The order's own transaction, unsigned: nothing to submit.
  await expectError(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction } }), 400, "TRANSACTION_MISMATCH", "transaction");
  await expectError(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: "not base64!" } }), 422, "VALIDATION", "transaction");
  expect(await usdc(alice)).toBe(aliceStart);
  expect((await json<QuoteView>(await alice.api.get(`/api/v1/quotes/${clusterId}`))).status).toBe("REQUESTED");

  // A fresh order for the real payment (a blockhash lives about a minute, and the refusals above took
  // a while): the same terms, built again by the server.
  const fresh = await order(alice, clusterId);
  expect(decoded(fresh.transaction).instruction.args).toEqual(instruction.args);
  const signed = signWire(fresh.transaction, alice.keypair);
  // Alice's correctly signed transaction, sent by bob: still not his quote.
  await expectError(await bob.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: signed } }), 404, "NOT_FOUND");
  expect(await usdc(alice)).toBe(aliceStart);

  const paid = await json<Paid>(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: signed } }));
  expect(paid).toMatchObject({ clusterId, amount: deposit.toString(), token: "USDC" });
  expect(["PAID", "MATCHING", "DEPLOYING", "RUNNING"]).toContain(paid.status);
  expect(await usdc(alice)).toBe(aliceStart - deposit);

  // The same signed transaction again (double click, reload): the same payment, charged once.
  const replay = await json<Paid>(await alice.api.post(`/api/v1/quotes/${clusterId}/payment`, { data: { transaction: signed } }));
  expect(replay.signature).toBe(paid.signature);
  expect(replay.amount).toBe(paid.amount);
  expect(await usdc(alice)).toBe(aliceStart - deposit);
  // Paid: no second transaction is issued for it.
  await expectError(await alice.api.post(`/api/v1/quotes/${clusterId}/transaction`), 409, "CONFLICT");
  const receipts = (await cluster(alice)).receipts;
  expect(receipts).toEqual([expect.objectContaining({ kind: "DEPOSIT", amount: deposit.toString(), signature: paid.signature })]);
});

test("the cluster runs with its nodes; it is the renter's only, and its id is checked", async () => {
  const running = await until(() => cluster(alice), (c) => c.status === "RUNNING", { timeoutMs: 90_000, what: "RUNNING" });
  expect(running.nodes.length).toBeGreaterThan(0);
  expect(running.nodes.reduce((n, node) => n + node.gpuCount, 0)).toBe(1);
  expect(running.nodes.every((node) => node.state === "serving")).toBe(true);
  expect(running.startedAt).not.toBeNull();
  expect(Date.parse(running.endsAt!) - Date.parse(running.startedAt!)).toBe(3_600_000);
  expect(running.secondsLeft).toBeGreaterThan(3_500);
  expect(running.timeline.map((t) => t.to)).toEqual(expect.arrayContaining(["REQUESTED", "PAID", "RUNNING"]));

  const hidden = await expectError(await bob.api.get(`/api/v1/clusters/${clusterId}`), 404, "NOT_FOUND");
  expect(await expectError(await bob.api.get(`/api/v1/clusters/${randomUUID()}`), 404, "NOT_FOUND")).toEqual(hidden);
  await expectError(await bob.api.get(`/api/v1/clusters/${clusterId}/events`), 404, "NOT_FOUND");
  await expectError(await bob.api.post(`/api/v1/clusters/${clusterId}/terminate`), 404, "NOT_FOUND");
  await expectError(await bob.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: { hours: 1 } }), 404, "NOT_FOUND");
  await expectError(await alice.api.get(`/api/v1/clusters/${randomUUID()}`), 404, "NOT_FOUND");
  await expectError(await alice.api.post(`/api/v1/clusters/${randomUUID()}/terminate`), 404, "NOT_FOUND");
  for (const bad of ["not-a-uuid", "1", `${clusterId}x`]) await expectError(await alice.api.get(`/api/v1/clusters/${bad}`), 422, "VALIDATION", "clusterId");
  await expectError(await alice.api.post("/api/v1/clusters/not-a-uuid/terminate"), 422, "VALIDATION", "clusterId");
  // Bob's attempts changed nothing.
  expect((await cluster(alice)).status).toBe("RUNNING");
});

test("the event stream opens with an `event: cluster` frame carrying the cluster's state", async ({ baseURL }) => {
  const cookie = await sessionCookie(alice.api);
  const abort = new AbortController();
  const response = await fetch(`${baseURL}/api/v1/clusters/${clusterId}/events`, { headers: { cookie: `${cookie.name}=${cookie.value}` }, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(response.headers.get("cache-control")).toMatch(/no-store/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  abort.abort();
  const frame = text.slice(0, text.indexOf("\n\n")).split("\n");
  expect(frame).toContain("event: cluster");
  const data = JSON.parse(frame.find((line) => line.startsWith("data: "))!.slice("data: ".length)) as Cluster;
  const now = await cluster(alice);
  expect(data).toMatchObject({ id: clusterId, status: now.status, endsAt: now.endsAt, depositAmount: now.depositAmount });
  expect(data.nodes.map((n) => n.allocationId)).toEqual(now.nodes.map((n) => n.allocationId));
});

test("an extension: bad hours are 422, a tampered top-up is 400, a valid one moves the end by exactly its hours and charges exactly their price", async () => {
  for (const hours of [0, 1.5, 10_000, -1, "1", null]) {
    await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: { hours } }), 422, "VALIDATION", "hours");
    await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours, transaction: "AAAA" } }), 422, "VALIDATION", "hours");
  }
  await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: {} }), 422, "VALIDATION", "hours");

  const before = await cluster(alice);
  const balance = await usdc(alice);
  const price = BigInt(before.pricePerSecond);
  const offer = await json<Order & { newEndsAt: string }>(await alice.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: { hours: 1 } }));
  expect(BigInt(offer.amount)).toBe(price * HOUR);
  expect(Date.parse(offer.newEndsAt) - Date.parse(before.endsAt!)).toBe(3_600_000);
  const { instruction } = decoded(offer.transaction);
  expect(instruction.name).toBe("extend_lease");
  expect(bigintArg(instruction.args.extra_seconds)).toBe(HOUR);
  const escrow = { lease: instruction.accounts.lease!.pubkey, renter: alice.keypair.publicKey, mint: USDC_MINT, renterToken: alice.usdcAccount };
  expect(escrow.lease.toBase58()).toBe(pdas.lease(alice.keypair.publicKey, leaseId)[0].toBase58());

  // The paid hours must match the order: more seconds for the same hours, or the order of other hours.
  const moreSeconds = forged(offer.transaction, alice.keypair, () => [ix.extendLease(escrow, HOUR * 2n)]);
  await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours: 1, transaction: moreSeconds } }), 400, "TRANSACTION_MISMATCH", "transaction");
  // No order was issued for two hours: expired/absent order, nothing submitted.
  const early = signWire(offer.transaction, alice.keypair);
  await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours: 2, transaction: early } }), 410, "EXPIRED", "transaction");
  await expectError(await bob.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours: 1, transaction: early } }), 404, "NOT_FOUND");
  expect(await usdc(alice)).toBe(balance);
  expect((await cluster(alice)).endsAt).toBe(before.endsAt);

  // A fresh order for the real top-up (its blockhash lives about a minute): the same terms.
  const fresh = await json<Order & { newEndsAt: string }>(await alice.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: { hours: 1 } }));
  expect([fresh.amount, fresh.newEndsAt]).toEqual([offer.amount, offer.newEndsAt]);
  const signed = signWire(fresh.transaction, alice.keypair);

  const extended = await json<{ signature: string; amount: string; endsAt: string; extended: boolean }>(
    await alice.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours: 1, transaction: signed } }),
  );
  expect(extended.extended).toBe(true);
  expect(BigInt(extended.amount)).toBe(price * HOUR);
  expect(extended.endsAt).toBe(offer.newEndsAt);
  expect(await usdc(alice)).toBe(balance - price * HOUR);
  const after = await cluster(alice);
  expect(Date.parse(after.endsAt!) - Date.parse(before.endsAt!)).toBe(3_600_000);
  expect(after.receipts.filter((r) => r.kind === "EXTENSION")).toEqual([expect.objectContaining({ amount: (price * HOUR).toString(), signature: extended.signature })]);

  // The same signed top-up again: the same extension, charged and counted once.
  const replay = await json<{ signature: string; amount: string; endsAt: string }>(await alice.api.post(`/api/v1/clusters/${clusterId}/extension`, { data: { hours: 1, transaction: signed } }));
  expect(replay.signature).toBe(extended.signature);
  expect(await usdc(alice)).toBe(balance - price * HOUR);
  expect((await cluster(alice)).endsAt).toBe(after.endsAt);
});

test("terminate is idempotent; the cluster ends, is refunded on-chain, and the wallet paid exactly what the served time cost", async () => {
  const first = await json<Terminated>(await alice.api.post(`/api/v1/clusters/${clusterId}/terminate`));
  expect(first.clusterId).toBe(clusterId);
  expect(first.endRequestedAt).not.toBeNull();
  const second = await json<Terminated>(await alice.api.post(`/api/v1/clusters/${clusterId}/terminate`));
  expect(second.endRequestedAt).toBe(first.endRequestedAt);
  // Ending: no more extensions.
  await expectError(await alice.api.post(`/api/v1/clusters/${clusterId}/extension/transaction`, { data: { hours: 1 } }), 409, "CONFLICT", "hours");

  const ended = await until(
    () => cluster(alice),
    (c) => c.status === "ENDED" && c.receipts.some((r) => r.kind === "REFUND"),
    { timeoutMs: 150_000, what: "ENDED with a REFUND receipt" },
  );
  expect(ended.endRequestedAt).toBe(first.endRequestedAt);
  expect(ended.nodes.every((node) => node.state === "released")).toBe(true);
  const deposit = sum(ended.receipts, "DEPOSIT");
  const extension = sum(ended.receipts, "EXTENSION");
  const refund = sum(ended.receipts, "REFUND");
  expect(deposit).toBe(BigInt(ended.depositAmount) - extension);
  expect(refund).toBeGreaterThan(0n);
  const paid = deposit + extension - refund;
  // On-chain, to the base unit: the wallet is down by what the ledger says was spent...
  expect(await usdc(alice)).toBe(aliceStart - paid);
  // ...which is the served time at the cluster's price, settled to the suppliers.
  expect(BigInt(ended.costSoFar)).toBe(paid);
  expect(BigInt(ended.settled)).toBe(paid);

  // Terminating an ended cluster answers the same end.
  const again = await json<Terminated>(await alice.api.post(`/api/v1/clusters/${clusterId}/terminate`));
  expect(again).toMatchObject({ clusterId, endRequestedAt: first.endRequestedAt, status: "ENDED" });
  expect(await usdc(alice)).toBe(aliceStart - paid);
});

test("terminate while the payment is landing: stopped before it runs, the whole deposit comes back; once running, only served time is paid", async () => {
  const start = await usdc(alice);
  const held = await quote(alice);
  const { transaction } = await order(alice, held.clusterId);
  const terminate = () => alice.api.post(`/api/v1/clusters/${held.clusterId}/terminate`);
  // The renter clicks "terminate" every 100 ms while the payment is on its way. Simulated agents
  // acknowledge within milliseconds, so the deployment window is short; the clicks overlap to catch it.
  let settled = false;
  const paying = alice.api.post(`/api/v1/quotes/${held.clusterId}/payment`, { data: { transaction: signWire(transaction, alice.keypair) } }).finally(() => (settled = true));
  // 409 before the deposit landed (never paid), and again once a cancelled deployment is refunded
  // (a closed cluster has nothing to terminate): both change nothing.
  const click = async () => {
    const response = await terminate();
    if (response.status() !== 409) return json<Terminated>(response);
    await expectError(response, 409, "CONFLICT");
    return null;
  };
  const clicks: Promise<Terminated | null>[] = [];
  // At most four clicks in flight: on a slow machine the payment takes a minute, and hundreds of
  // requests piled up behind it (the dev server resets connections) would test the test, not the app.
  let inFlight = 0;
  while (!settled) {
    if (inFlight < 4) {
      inFlight++;
      clicks.push(click().finally(() => inFlight--));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  clicks.push(click());
  const answers = (await Promise.all(clicks)).filter((answer) => answer !== null);
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.every((answer) => answer.clusterId === held.clusterId)).toBe(true);
  const paid = await json<Paid>(await paying);
  expect(BigInt(paid.amount)).toBe(BigInt(held.breakdown.total));
  // Once an end is recorded (a click while RUNNING, or the end job of a click while deploying), every
  // later answer names that same end, and the lease ends there.
  const first = answers.findIndex((answer) => answer.endRequestedAt !== null);
  const recorded = first === -1 ? null : answers[first]!.endRequestedAt;
  for (const answer of first === -1 ? [] : answers.slice(first)) expect(answer.endRequestedAt).toBe(recorded);
  const whileDeploying = answers.filter((answer) => answer.endRequestedAt === null).map((answer) => answer.status);
  test.info().annotations.push({ type: "terminated", description: `${answers.length} answers; while deploying: ${whileDeploying.join(", ") || "none"}; end recorded: ${recorded ?? "no"}` });

  const closed = await until(
    () => cluster(alice, held.clusterId),
    (c) => TERMINAL.includes(c.status) && c.receipts.some((r) => r.kind === "REFUND"),
    { timeoutMs: 150_000, what: "the terminated cluster closed and refunded" },
  );
  if (recorded) expect(closed.endRequestedAt).toBe(recorded);
  expect(closed.receipts.filter((r) => r.kind === "DEPOSIT")).toEqual([expect.objectContaining({ amount: paid.amount, signature: paid.signature })]);
  const spent = sum(closed.receipts, "DEPOSIT") - sum(closed.receipts, "REFUND");
  expect(await usdc(alice)).toBe(start - spent);
  expect(BigInt(closed.costSoFar)).toBe(spent);
  expect(BigInt(closed.settled)).toBe(spent);
  if (!recorded) {
    // Stopped only while deploying: nothing was served, all of it comes back.
    expect(closed.startedAt).toBeNull();
    expect(spent).toBe(0n);
    expect(await usdc(alice)).toBe(start);
  }
});
