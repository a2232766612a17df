import { randomUUID } from "node:crypto";
import { expect, test, type APIRequestContext, type APIResponse } from "@playwright/test";
import { airdrop, devSupplierKeypair } from "@gpumesh/chain/localnet";
import { Keypair } from "@solana/web3.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import { apiClient, chain, expectError, firstQuote, json, signedInRenter, signIn, signWire, until, type Renter } from "./api/session.ts";

// Contract tests generated from the OpenAPI document the server serves (/api/v1/openapi.json): every
// operation gets a request that should succeed, whose body must validate against the documented
// response schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it); every error code an operation
// documents (`x-error-codes`) gets a request that triggers it and must come back with that status and
// code in the one envelope. What cannot be exercised here is listed in NOT_EXERCISED with its reason;
// an operation or code that is neither exercised nor listed fails the last test.

test.skip(({ isMobile }) => isMobile, "HTTP only: runs once, in the laptop project");
test.describe.configure({ mode: "serial", timeout: 600_000 });

type Json = Record<string, unknown>;
interface Operation {
  id: string;
  method: string;
  path: string;
  auth: "public" | "session" | "apiKey";
  codes: string[];
  hasBody: boolean;
  params: string[];
  query: string[];
}

/*
 * Adding an operation to the API (a row in apps/web/src/server/api/openapi/operations.ts) puts it in
 * this walk. Public GETs without path parameters are exercised as they are; for the rest give:
 *   - PATH_FIXTURES: per path parameter, a value that passes validation but names nothing (404 checks);
 *   - SUCCESS: per operationId, the request that should succeed (path values of something that exists);
 *   - or a NOT_EXERCISED entry ("opId" or "opId CODE") with the reason.
 */

/** `pnpm dev` seeds 48 suppliers (each with its deterministic dev key). */
const SEEDED_SUPPLIERS = 48;

/** Per path parameter: a well-formed value that names nothing (404 checks); its VALIDATION check sends "not-an-id". */
const PATH_FIXTURES: Record<string, string | number> = {
  quoteId: randomUUID(),
  clusterId: randomUUID(),
  deviceId: randomUUID(),
  apiKeyId: randomUUID(),
  epoch: 2_147_483_647,
  supplierId: randomUUID(),
  signature: "1".repeat(64),
  // A valid public key nobody uses.
  wallet: Keypair.generate().publicKey.toBase58(),
  // The catalogue is closed: an unknown model is a 422, never a 404.
  gpuModelId: "h100-80gb",
};

/** Per operationId: the request that should succeed, for operations this file does not script below. */
const SUCCESS: Record<string, (api: { anon: APIRequestContext }) => Promise<APIResponse>> = {
  // The explorer directory on the seeded network: the newest device, its supplier, and the transaction
  // that registered that supplier on localnet (pnpm dev registers every seeded supplier).
  getDevice: async ({ anon }) => anon.get(`/api/v1/devices/${(await firstDevice(anon)).id}`),
  listDeviceEvidence: async ({ anon }) => anon.get(`/api/v1/devices/${(await firstDevice(anon)).id}/evidence?limit=5`),
  getSupplier: async ({ anon }) => anon.get(`/api/v1/suppliers/${(await firstDevice(anon)).supplier.id}`),
  getTransaction: async ({ anon }) => {
    const supplier = (await (await anon.get(`/api/v1/suppliers/${(await firstDevice(anon)).supplier.id}`)).json()) as { supplier: { registeredSignature: string | null } };
    return anon.get(`/api/v1/transactions/${supplier.supplier.registeredSignature ?? "1".repeat(64)}`);
  },
  // The explorer home: one metric's history (metric is required).
  getNetworkHistory: async ({ anon }) => anon.get("/api/v1/network/history?metric=gpusOnline&range=1h"),
  getGpuModelPriceHistory: async ({ anon }) => anon.get("/api/v1/models/h100-80gb/history?range=1h"),
};

async function firstDevice(anon: APIRequestContext): Promise<{ id: string; supplier: { id: string } }> {
  const page = (await (await anon.get("/api/v1/devices?limit=1")).json()) as { items: { id: string; supplier: { id: string } }[] };
  return page.items[0]!;
}

/** Operations, or an operation's error codes, that this spec does not exercise, and why. */
const NOT_EXERCISED: Record<string, string> = {
  "createQuote CONFLICT": "only when two quotes of one renter race for the same lock; not reproducible on demand",
  "orderQuote EXPIRED": "a quote holds its devices for 5 minutes; waiting it out is covered by packages/db quote tests",
  "payQuote EXPIRED": "needs a quote past its 5-minute hold or a blockhash past its lifetime",
  "orderExtension EXPIRED": "needs an order past its blockhash lifetime",
  "payExtension EXPIRED": "needs an order past its blockhash lifetime",
  getSupplierDevice: "needs a device that joined with an agent (e2e/supply.spec.ts runs one)",
  removeDevice: "needs a device that joined with an agent (e2e/supply.spec.ts removes one)",
  "removeDevice CONFLICT": "needs a device of the caller serving a lease",
  pauseDevice: "needs a device that joined with an agent (e2e/supply.spec.ts pauses it in the browser; packages/db/test/device-pause.test.ts checks it takes no new lease)",
  resumeDevice: "needs a device that joined with an agent (e2e/supply.spec.ts resumes it in the browser)",
  "resumeDevice CONFLICT": "needs a removed device of the caller (e2e/supply.spec.ts resumes one after removing it)",
  "registerDevice RATE_LIMITED": "30 tokens an hour per account, but 20 unused tokens already answer CONFLICT; the limiter itself is exercised on the keyed and public routes",
  "orderRegistration CONFLICT": "answered when the on-chain record belongs to another authority; not reproducible from a fresh wallet",
  submitRegistration: "submits a wallet-signed register_supplier on-chain (e2e/supply.spec.ts does it through the browser)",
  "submitRegistration CONFLICT": "needs a registration race or a program refusal",
  "submitRegistration EXPIRED": "needs a blockhash past its lifetime",
  "submitRegistration TRANSACTION_MISMATCH": "covered with the page's order in e2e/supply.spec.ts",
  orderPayoutWallet: "needs an on-chain supplier record (e2e/supply.spec.ts rotates the payout wallet)",
  submitPayoutWallet: "needs an on-chain supplier record (e2e/supply.spec.ts rotates the payout wallet)",
  "submitPayoutWallet EXPIRED": "needs an on-chain supplier record and an expired blockhash",
  "submitPayoutWallet TRANSACTION_MISMATCH": "needs an on-chain supplier record",
  orderDeviceStake: "needs a device of the caller and MESH in its wallet: e2e/stake.spec.ts stakes one (another wallet's device, a tampered transaction, a replay)",
  stakeDevice: "needs a device of the caller and MESH in its wallet: e2e/stake.spec.ts stakes one (another wallet's device, a tampered transaction, a replay)",
  orderDeviceUnstake: "needs a staked device of the caller: e2e/stake.spec.ts requests the unstake",
  unstakeDevice: "needs a staked device of the caller: e2e/stake.spec.ts requests the unstake",
  orderStakeWithdrawal: "needs an unstaking device of the caller (e2e/stake.spec.ts); the withdrawal after the 7-day cooldown is packages/chain/test/stake.test.ts",
  withdrawStake: "needs a device past its 7-day unstake cooldown: packages/chain/test/stake.test.ts and stake-index.test.ts withdraw on localnet",
  streamNetwork: "server-sent events: e2e/explorer.spec.ts reads the stream's first event and a live update",
  "getEmission UNAVAILABLE": "needs the RPC node down; apps/web domain-errors.test.ts maps a failed RPC call to it",
  "orderRewardClaim UNAVAILABLE": "needs the RPC node down; apps/web domain-errors.test.ts maps a failed RPC call to it",
  "claimRewards UNAVAILABLE": "needs the RPC node down; apps/web domain-errors.test.ts maps a failed RPC call to it",
  "claimRewards CONFLICT": "a program refusal other than NothingToClaim (a proof two roots old: apps/scheduler/test/rewards-stale-proof.test.ts)",
  "claimRewards NOTHING_TO_CLAIM": "the program's NothingToClaim: a claim from another tab landing between this one's order and its submission",
};

let doc: Json & { paths: Record<string, Record<string, Json>> };
let operations: Operation[];
let ajv: Ajv2020;
let anon: APIRequestContext;
let renter: Renter;
let key: string;
let keyed: APIRequestContext;
/** "opId" for a success checked, "opId CODE" for an error checked. */
const exercised = new Set<string>();

const byId = (id: string) => {
  const op = operations.find((o) => o.id === id);
  if (!op) throw new Error(`no operation ${id} in the document`);
  return op;
};
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** The documented schema of `op`'s `status` response, compiled against the whole document (its $refs). */
function validatorFor(op: Operation, status: number, type = "application/json") {
  const ref = `openapi#/${pointer("paths", op.path, op.method, "responses", String(status), "content", type, "schema")}`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`${op.id}: no ${status} ${type} schema in the document`);
  return validate;
}

/** A success: the documented status and a body that validates against the documented schema. */
async function expectDocumented(op: Operation, response: APIResponse, status = 200): Promise<Json> {
  const text = await response.text();
  expect(response.status(), `${op.id}: ${text.slice(0, 500)}`).toBe(status);
  const body = JSON.parse(text) as Json;
  const validate = validatorFor(op, status);
  expect(validate(body), `${op.id}: ${JSON.stringify(validate.errors?.slice(0, 5))}`).toBe(true);
  exercised.add(op.id);
  return body;
}

/** An error: the status and code documented for it, in the envelope that the document describes. */
async function expectDocumentedError(op: Operation, response: APIResponse, code: string, field?: string): Promise<void> {
  expect(op.codes, `${op.id} does not document ${code}`).toContain(code);
  const status = response.status();
  const body = await expectError(response, status, code, field);
  expect(validatorFor(op, status)(body), `${op.id} ${code}: the envelope differs from the document`).toBe(true);
  exercised.add(`${op.id} ${code}`);
}

/** `op`'s path with its parameters filled in. */
const pathOf = (op: Operation, values: Record<string, string | number>) => op.path.replace(/\{(\w+)\}/g, (_m, name: string) => String(values[name] ?? "missing"));

function send(client: APIRequestContext, op: Operation, values: Record<string, string | number> = {}, options: { data?: unknown; params?: Record<string, string | number>; headers?: Record<string, string> } = {}) {
  return client.fetch(pathOf(op, values), { method: op.method.toUpperCase(), ...options });
}

test.beforeAll(async ({ playwright }, info) => {
  // `pnpm dev` compiles each route on first use, and this hook signs in and funds a wallet.
  test.setTimeout(300_000);
  const baseURL = info.project.use.baseURL!;
  anon = await apiClient(playwright, baseURL);
  const response = await anon.get("/api/v1/openapi.json");
  expect(response.status()).toBe(200);
  doc = (await response.json()) as typeof doc;
  ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(doc, "openapi");
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, raw]) => {
      const parameters = (raw.parameters as { in: string; name: string }[] | undefined) ?? [];
      return {
        id: String(raw.operationId),
        method,
        path,
        auth: raw["x-auth"] as Operation["auth"],
        codes: raw["x-error-codes"] as string[],
        hasBody: raw.requestBody !== undefined,
        params: parameters.filter((p) => p.in === "path").map((p) => p.name),
        query: parameters.filter((p) => p.in === "query").map((p) => p.name),
      };
    }),
  );
  expect(operations.length).toBeGreaterThan(20);
  // A funded wallet (dev USDC on localnet) signed in through the real Sign-In With Solana routes.
  renter = await signedInRenter(playwright, baseURL, { usdc: 1_000_000_000n });
  const created = await expectDocumented(byId("createApiKey"), await renter.api.post("/api/v1/api-keys", { data: { name: "contract tests" } }), 201);
  key = String(created.key);
  expect(key).toMatch(/^gmk_/);
  // The key alone: no cookie (a fresh context), its own client address.
  keyed = await apiClient(playwright, baseURL, { authorization: `Bearer ${key}` });
});

test.afterAll(async () => {
  await Promise.all([anon?.dispose(), renter?.api.dispose(), keyed?.dispose()]);
});

test("every operation answers what the document describes", async ({ playwright }, info) => {
  const baseURL = info.project.use.baseURL!;
  // Public.
  await expectDocumented(byId("getOpenApiDocument"), await anon.get("/api/v1/openapi.json"));
  await expectDocumented(byId("getNetworkSummary"), await anon.get("/api/v1/network"));
  // Public GETs without path parameters, as they are; then the SUCCESS requests others' rows added.
  for (const op of operations.filter((o) => o.auth === "public" && o.method === "get" && o.params.length === 0 && !SUCCESS[o.id] && !NOT_EXERCISED[o.id])) {
    const raw = doc.paths[op.path]![op.method]!;
    const streams = "text/event-stream" in ((((raw.responses as Record<string, Json>)["200"]?.content as Json | undefined) ?? {}));
    if (!streams) await expectDocumented(op, await anon.get(op.path));
  }
  for (const [id, request] of Object.entries(SUCCESS)) await expectDocumented(byId(id), await request({ anon }));
  const { markets } = (await expectDocumented(byId("getAvailability"), await anon.get("/api/v1/availability", { params: { token: "USDC" } }))) as { markets: { gpuModelId: string; region: string; freeGpus: number; pricePerGpuHour: string | null }[] };
  // The first reward epoch is posted a few minutes after `pnpm dev` starts.
  const epochs = await until(
    async () => (await expectDocumented(byId("listEpochs"), await anon.get("/api/v1/epochs", { params: { limit: 1 } }))) as { items: { epoch: number }[]; next_cursor: string | null },
    (page) => page.items.length > 0,
    { timeoutMs: 420_000, everyMs: 5_000, what: "a reward epoch" },
  );
  const epoch = await expectDocumented(byId("getEpoch"), await anon.get(`/api/v1/epochs/${epochs.items[0]!.epoch}`));
  expect(epoch).toEqual(epochs.items[0]);
  if (epochs.next_cursor) {
    const next = (await expectDocumented(byId("listEpochs"), await anon.get("/api/v1/epochs", { params: { limit: 1, cursor: epochs.next_cursor } }))) as { items: { epoch: number }[] };
    expect(next.items[0]!.epoch).toBeLessThan(epochs.items[0]!.epoch);
  }

  // Quotes and clusters: created and read with the API key; signed and paid from the session (the wallet signs).
  const attempts = markets
    .filter((m) => m.pricePerGpuHour !== null && m.freeGpus > 0)
    .sort((a, b) => Number(BigInt(a.pricePerGpuHour!) - BigInt(b.pricePerGpuHour!)))
    .slice(0, 10)
    .map((m) => ({ gpuModelIds: [m.gpuModelId], regions: [m.region] }));
  const { quote } = await firstQuote<{ clusterId: string }>(keyed, { name: "e2e contract", type: "CONTAINER", gpuCount: 1, durationHours: 1 }, attempts);
  const createQuote = byId("createQuote");
  // firstQuote checked the status; the body against the document:
  expect(validatorFor(createQuote, 201)(quote), JSON.stringify(validatorFor(createQuote, 201).errors)).toBe(true);
  exercised.add(createQuote.id);
  const clusterId = quote.clusterId;
  await expectDocumented(byId("getQuote"), await send(keyed, byId("getQuote"), { quoteId: clusterId }));
  const order = (await expectDocumented(byId("orderQuote"), await send(renter.api, byId("orderQuote"), { quoteId: clusterId }))) as { transaction: string };
  await expectDocumented(byId("payQuote"), await send(renter.api, byId("payQuote"), { quoteId: clusterId }, { data: { transaction: signWire(order.transaction, renter.keypair) } }));
  // Paid: no second order for it.
  await expectDocumentedError(byId("orderQuote"), await send(renter.api, byId("orderQuote"), { quoteId: clusterId }), "CONFLICT");
  const page = (await expectDocumented(byId("listClusters"), await send(keyed, byId("listClusters"), {}, { params: { limit: 1 } }))) as { items: { id: string }[]; next_cursor: string | null };
  expect(page.items.map((c) => c.id)).toEqual([clusterId]);
  expect(page.next_cursor).toBeNull();

  const getCluster = byId("getCluster");
  const running = await until(async () => (await expectDocumented(getCluster, await send(keyed, getCluster, { clusterId }))) as { status: string }, (c) => c.status === "RUNNING", { timeoutMs: 120_000, what: "RUNNING" });
  expect(running.status).toBe("RUNNING");

  // Server-sent events: the first event is the cluster, as documented for getCluster.
  const stream = byId("streamCluster");
  const abort = new AbortController();
  const events = await fetch(new URL(pathOf(stream, { clusterId }), baseURL), { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
  expect(events.status).toBe(200);
  expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = events.body!.getReader();
  let text = "";
  while (!/^data: .*\n/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  const first = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as Json;
  expect(validatorFor(getCluster, 200)(first), JSON.stringify(validatorFor(getCluster, 200).errors)).toBe(true);
  exercised.add(stream.id);

  const extension = (await expectDocumented(byId("orderExtension"), await send(renter.api, byId("orderExtension"), { clusterId }, { data: { hours: 1 } }))) as { transaction: string };
  const notThisOrder = Buffer.from("not a transaction at all").toString("base64");
  await expectDocumentedError(byId("payExtension"), await send(renter.api, byId("payExtension"), { clusterId }, { data: { hours: 1, transaction: notThisOrder } }), "TRANSACTION_MISMATCH", "transaction");
  await expectDocumented(byId("payExtension"), await send(renter.api, byId("payExtension"), { clusterId }, { data: { hours: 1, transaction: signWire(extension.transaction, renter.keypair) } }));
  await expectDocumented(byId("terminateCluster"), await send(keyed, byId("terminateCluster"), { clusterId }));

  // Rewards, after the first epoch was posted (above): a wallet with none reads an empty, valid answer;
  // a seeded supplier with something claimable (from the last one: e2e/rewards.spec.ts takes them
  // from the first) reads its proof, orders its claim, has a transaction that is not the order
  // refused, then claims with the signed order, and has nothing left to order.
  await expectDocumented(byId("getWalletRewards"), await anon.get(`/api/v1/rewards/${renter.address}`));
  let supplier: Keypair | undefined;
  for (let index = SEEDED_SUPPLIERS - 1; index >= 0 && !supplier; index--) {
    const candidate = devSupplierKeypair(index);
    const rewards = (await expectDocumented(byId("getWalletRewards"), await anon.get(`/api/v1/rewards/${candidate.publicKey.toBase58()}`))) as { claimable: string };
    if (BigInt(rewards.claimable) > 0n) supplier = candidate;
  }
  if (!supplier) throw new Error("no seeded supplier has rewards to claim after the first epoch");
  await expectDocumented(byId("getWalletRewardProof"), await anon.get(`/api/v1/rewards/${supplier.publicKey.toBase58()}/proof`));
  await airdrop(chain, supplier.publicKey, 2); // fees, and rent for the claim record and MESH account
  const claimer = await apiClient(playwright, baseURL);
  await signIn(claimer, supplier);
  const claimOrder = (await expectDocumented(byId("orderRewardClaim"), await claimer.post("/api/v1/rewards/claim/transaction"))) as { transaction: string; amount: string };
  await expectDocumentedError(byId("claimRewards"), await claimer.post("/api/v1/rewards/claim", { data: { transaction: notThisOrder } }), "TRANSACTION_MISMATCH", "transaction");
  const claimed = (await expectDocumented(byId("claimRewards"), await claimer.post("/api/v1/rewards/claim", { data: { transaction: signWire(claimOrder.transaction, supplier) } }))) as { amount: string };
  expect(claimed.amount).toBe(claimOrder.amount);
  await expectDocumentedError(byId("orderRewardClaim"), await claimer.post("/api/v1/rewards/claim/transaction"), "NOTHING_TO_CLAIM");
  await claimer.dispose();
  // A claim submitted with no order behind it (never ordered, or its order lapsed).
  await expectDocumentedError(byId("claimRewards"), await renter.api.post("/api/v1/rewards/claim", { data: { transaction: notThisOrder } }), "EXPIRED", "transaction");

  // Supply, from the session.
  await expectDocumented(byId("getSupplyOverview"), await renter.api.get("/api/v1/supply/devices"));
  await expectDocumented(byId("registerDevice"), await renter.api.post("/api/v1/supply/devices", { data: { name: "contract device", region: markets[0]!.region } }), 201);
  await expectDocumented(byId("getRegistration"), await renter.api.get("/api/v1/supply/registration"));
  await expectDocumented(byId("orderRegistration"), await renter.api.post("/api/v1/supply/registration/transaction"));

  // API keys: listed without secrets; a revoked key is refused at once.
  const keys = (await expectDocumented(byId("listApiKeys"), await renter.api.get("/api/v1/api-keys"))) as { items: Json[] };
  expect(keys.items.length).toBe(1);
  expect(JSON.stringify(keys.items)).not.toContain(key);
  const spare = (await expectDocumented(byId("createApiKey"), await renter.api.post("/api/v1/api-keys", { data: { name: "to revoke" } }), 201)) as { id: string; key: string };
  const spareClient = await apiClient(playwright, baseURL, { authorization: `Bearer ${spare.key}` });
  await expectDocumented(byId("listClusters"), await spareClient.get("/api/v1/clusters"));
  const revoked = await expectDocumented(byId("revokeApiKey"), await send(renter.api, byId("revokeApiKey"), { apiKeyId: spare.id }));
  expect(revoked.revokedAt).not.toBeNull();
  await expectDocumentedError(byId("listClusters"), await spareClient.get("/api/v1/clusters"), "INVALID_API_KEY");
  await spareClient.dispose();
});

test("every documented error is answered with its status and code", async ({ playwright }, info) => {
  const baseURL = info.project.use.baseURL!;
  const session = renter.api;
  const fixtures = PATH_FIXTURES;
  const bogusKey = await apiClient(playwright, baseURL, { authorization: "Bearer gmk_not-a-key" });
  // The renter's cookie, sent from another origin.
  const evil = await playwright.request.newContext({ baseURL, storageState: await session.storageState(), extraHTTPHeaders: { origin: "https://evil.example", "x-forwarded-for": "198.51.100.250", connection: "close" } });
  // A key of its own for the per-key limit (made before the 20-live-keys refusal below).
  const burstKey = await apiClient(playwright, baseURL, { authorization: `Bearer ${(await json<{ key: string }>(await session.post("/api/v1/api-keys", { data: { name: "burst" } }), 201)).key}` });
  /** The stake submissions take only a signed transaction: a well-formed one reaches the device check (404). */
  const signedOnly = new Set(["stakeDevice", "unstakeDevice", "withdrawStake"]);
  const minimalBody = (op: Operation): unknown => (op.id === "orderExtension" ? { hours: 1 } : op.id === "createApiKey" ? { name: "x" } : signedOnly.has(op.id) ? { transaction: "AAAA" } : {});

  for (const op of operations) {
    const client = op.auth === "apiKey" ? keyed : session;
    for (const code of op.codes) {
      switch (code) {
        case "VALIDATION": {
          if (op.params.length > 0) {
            const name = op.params[0]!;
            await expectDocumentedError(op, await send(client, op, { ...fixtures, [name]: "not-an-id" }, op.hasBody ? { data: minimalBody(op) } : {}), code, name);
          } else if (op.query.includes("limit")) {
            await expectDocumentedError(op, await send(client, op, {}, { params: { limit: 0 } }), code, "limit");
            await expectDocumentedError(op, await send(client, op, {}, { params: { cursor: "bm90LWEtY3Vyc29y" } }), code, "cursor");
          } else if (op.query.includes("metric")) {
            await expectDocumentedError(op, await send(client, op, {}, { params: { metric: "nope" } }), code, "metric");
          } else if (op.query.includes("verification")) {
            await expectDocumentedError(op, await send(client, op, {}, { params: { region: "mars" } }), code, "region");
          } else if (op.query.includes("token")) {
            await expectDocumentedError(op, await send(client, op, {}, { params: { token: "DOGE" } }), code, "token");
          } else if (op.hasBody) {
            const response = await send(client, op, fixtures, { data: { unexpected: true } });
            expect(response.status(), op.id).toBe(422);
            await expectDocumentedError(op, response, code, ((await response.json()) as { error: { field?: string } }).error.field);
          }
          break;
        }
        case "BAD_REQUEST":
          await expectDocumentedError(op, await send(client, op, fixtures, { data: Buffer.from("{not json"), headers: { "content-type": "application/json" } }), code, "body");
          break;
        case "PAYLOAD_TOO_LARGE":
          await expectDocumentedError(op, await send(client, op, fixtures, { data: { padding: "x".repeat(70 * 1024) } }), code, "body");
          break;
        case "UNAUTHENTICATED":
          await expectDocumentedError(op, await send(anon, op, fixtures, op.hasBody ? { data: minimalBody(op) } : {}), code);
          break;
        case "INVALID_API_KEY":
          await expectDocumentedError(op, await send(bogusKey, op, fixtures, op.hasBody ? { data: minimalBody(op) } : {}), code);
          break;
        case "FORBIDDEN":
          // A key where only a session may act; a cookie request from another origin.
          if (op.auth === "session") await expectDocumentedError(op, await send(keyed, op, fixtures, op.hasBody ? { data: minimalBody(op) } : {}), code);
          if (op.method !== "get") await expectDocumentedError(op, await send(evil, op, fixtures, op.hasBody ? { data: minimalBody(op) } : {}), code);
          break;
        case "NOT_FOUND":
          if (op.params.length > 0 && !NOT_EXERCISED[`${op.id} ${code}`]) {
            const data = op.id === "payQuote" ? { transaction: "AAAA" } : op.id === "payExtension" ? { hours: 1, transaction: "AAAA" } : op.hasBody ? minimalBody(op) : undefined;
            await expectDocumentedError(op, await send(op.auth === "public" ? anon : client, op, fixtures, data === undefined ? {} : { data }), code);
          }
          break;
        default:
          break; // operation-specific: below
      }
    }
  }

  // Operation-specific codes.
  const quoteBody = { name: "e2e contract refusals", type: "CONTAINER", gpuCount: 1, durationHours: 1 };
  const { markets } = await json<{ markets: { gpuModelId: string; region: string; freeGpus: number; pricePerGpuHour: string | null }[] }>(await anon.get("/api/v1/availability"));
  const market = markets.filter((m) => m.pricePerGpuHour !== null).sort((a, b) => b.freeGpus - a.freeGpus)[0]!;
  await expectDocumentedError(byId("createQuote"), await keyed.post("/api/v1/quotes", { data: { ...quoteBody, gpuModelIds: [market.gpuModelId], regions: [market.region], gpuCount: 1024 } }), "NO_CAPACITY");
  // Devices are leased whole: the first market (most free GPUs first) with a one-GPU device answers.
  const oneGpuAttempts = markets
    .filter((m) => m.pricePerGpuHour !== null && m.freeGpus > 0)
    .sort((a, b) => b.freeGpus - a.freeGpus)
    .map((m) => ({ gpuModelIds: [m.gpuModelId], regions: [m.region] }));
  const { quote: held } = await firstQuote<{ clusterId: string }>(keyed, quoteBody, oneGpuAttempts);
  // An unpaid quote: nothing to terminate, no lease to extend, and no payment before its order.
  await expectDocumentedError(byId("terminateCluster"), await keyed.post(`/api/v1/clusters/${held.clusterId}/terminate`), "CONFLICT");
  await expectDocumentedError(byId("orderExtension"), await session.post(`/api/v1/clusters/${held.clusterId}/extension/transaction`, { data: { hours: 1 } }), "CONFLICT");
  await expectDocumentedError(byId("payExtension"), await session.post(`/api/v1/clusters/${held.clusterId}/extension`, { data: { hours: 1, transaction: "AAAA" } }), "CONFLICT");
  await expectDocumentedError(byId("payQuote"), await session.post(`/api/v1/quotes/${held.clusterId}/payment`, { data: { transaction: "AAAA" } }), "CONFLICT", "transaction");
  await session.post(`/api/v1/quotes/${held.clusterId}/transaction`);
  const garbage = Buffer.from("not a transaction at all").toString("base64");
  await expectDocumentedError(byId("payQuote"), await session.post(`/api/v1/quotes/${held.clusterId}/payment`, { data: { transaction: garbage } }), "TRANSACTION_MISMATCH", "transaction");
  await expectDocumentedError(byId("orderPayoutWallet"), await session.post("/api/v1/supply/payout-wallet/transaction", { data: { payoutWallet: renter.address } }), "CONFLICT");
  await expectDocumentedError(byId("submitPayoutWallet"), await session.post("/api/v1/supply/payout-wallet", { data: { payoutWallet: renter.address, transaction: "AAAA" } }), "CONFLICT");

  // Limits on live objects: 20 live API keys, 20 unused join tokens.
  for (let i = 0; i < 20; i++) {
    const response = await session.post("/api/v1/api-keys", { data: { name: `filler ${i}` } });
    if (response.status() === 409) {
      await expectDocumentedError(byId("createApiKey"), response, "CONFLICT");
      break;
    }
    expect(response.status()).toBe(201);
  }
  for (let i = 0; i < 21; i++) {
    const response = await session.post("/api/v1/supply/devices", { data: { name: `filler ${i}`, region: market.region } });
    if (response.status() === 409) {
      await expectDocumentedError(byId("registerDevice"), response, "CONFLICT");
      break;
    }
    expect(response.status()).toBe(201);
  }

  // Rate limits, once per limiter: a fresh key (its own bucket), and a fresh client address on a public GET.
  const burst = async (client: APIRequestContext, path: string, op: Operation) => {
    for (let sent = 0; sent < 2_000; sent += 25) {
      const responses = await Promise.all(Array.from({ length: 25 }, () => client.get(path)));
      const limited = responses.find((r) => r.status() === 429);
      if (limited) {
        const retryAfter = Number(limited.headers()["retry-after"]);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        await expectDocumentedError(op, limited, "RATE_LIMITED");
        return;
      }
      for (const r of responses) expect(r.status(), await r.text()).toBe(200);
    }
    throw new Error(`${op.id}: no 429 after 2,000 requests`);
  };
  await burst(burstKey, "/api/v1/clusters?limit=1", byId("listClusters"));
  const address = await apiClient(playwright, baseURL);
  await burst(address, "/api/v1/epochs?limit=1", byId("listEpochs"));
  await Promise.all([bogusKey.dispose(), evil.dispose(), burstKey.dispose(), address.dispose()]);
});

test("nothing in the document is left unexercised without a reason", () => {
  const missing: string[] = [];
  // One limiter per kind: the per-key limit is exercised on listClusters, the per-address one on listEpochs.
  const sharedLimiter = (op: Operation) => (op.auth === "apiKey" ? "listClusters RATE_LIMITED" : op.auth === "public" && op.method === "get" ? "listEpochs RATE_LIMITED" : null);
  for (const op of operations) {
    if (!exercised.has(op.id) && !NOT_EXERCISED[op.id]) missing.push(`${op.id} (success)`);
    for (const code of op.codes) {
      const id = `${op.id} ${code}`;
      if (exercised.has(id) || NOT_EXERCISED[id] || NOT_EXERCISED[op.id]) continue;
      if (code === "RATE_LIMITED" && sharedLimiter(op) && exercised.has(sharedLimiter(op)!)) continue;
      missing.push(id);
    }
  }
  expect(missing, "exercise these in e2e/api-contract.spec.ts or list them in NOT_EXERCISED with the reason").toEqual([]);
  // And no stale reasons: everything listed is still in the document.
  for (const entry of Object.keys(NOT_EXERCISED)) expect(operations.map((o) => o.id), entry).toContain(entry.split(" ")[0]);
});
