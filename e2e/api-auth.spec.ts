import { randomUUID } from "node:crypto";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { Keypair } from "@solana/web3.js";
import { apiClient, challenge, expectError, json, sessionCookie, signIn, signText } from "./api/session.ts";

// Sign-In With Solana and sessions over HTTP, as a client without a browser sees them: every refusal
// is the one error envelope naming its field, and nobody is signed in by a refused attempt.

test.skip(({ isMobile }) => isMobile, "HTTP only: runs once, in the laptop project");
// `pnpm dev` compiles each route on its first request: a minute or more on a busy machine.
test.describe.configure({ timeout: 240_000 });

interface SessionView {
  session: { walletAddress: string; expiresAt: string } | null;
}

const whoAmI = async (api: APIRequestContext) => (await json<SessionView>(await api.get("/api/auth/session"))).session;

test("a nonce is refused for anything that is not a Solana address", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  for (const address of ["not-an-address", "abc", "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", "1".repeat(45), 42, null]) {
    await expectError(await api.post("/api/auth/nonce", { data: { address } }), 422, "VALIDATION", "address");
  }
  await expectError(await api.post("/api/auth/nonce", { data: {} }), 422, "VALIDATION", "address");
  expect(await whoAmI(api)).toBeNull();
  await api.dispose();
});

test("a wrong signature is 401 naming the signature, and burns the nonce", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const wallet = Keypair.generate();
  const address = wallet.publicKey.toBase58();
  const { message } = await challenge(api, address);
  const stranger = Keypair.generate();
  await expectError(await api.post("/api/auth/verify", { data: { address, message, signature: signText(stranger, message) } }), 401, "UNAUTHENTICATED", "signature");
  // A signature over other bytes is as wrong as another key's.
  const second = await challenge(api, address);
  await expectError(await api.post("/api/auth/verify", { data: { address, message: second.message, signature: signText(wallet, `${second.message} `) } }), 401, "UNAUTHENTICATED", "signature");
  // The failed attempt consumed the nonce: the right signature now comes too late.
  await expectError(await api.post("/api/auth/verify", { data: { address, message, signature: signText(wallet, message) } }), 410, "EXPIRED", "message");
  expect(await whoAmI(api)).toBeNull();
  await api.dispose();
});

test("a message edited, or carrying another nonce, is refused even when correctly signed", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const wallet = Keypair.generate();
  const address = wallet.publicKey.toBase58();

  // The statement changed (the nonce line kept): not the text the server issued.
  const first = await challenge(api, address);
  const edited = first.message.replace("moves no funds", "moves all funds");
  expect(edited).not.toBe(first.message);
  await expectError(await api.post("/api/auth/verify", { data: { address, message: edited, signature: signText(wallet, edited) } }), 422, "VALIDATION", "message");

  // Message A with the nonce of challenge B: B was issued with other text (its own issued-at).
  const a = await challenge(api, address);
  const b = await challenge(api, address);
  const swapped = a.message.replace(`Nonce: ${a.nonce}`, `Nonce: ${b.nonce}`);
  await expectError(await api.post("/api/auth/verify", { data: { address, message: swapped, signature: signText(wallet, swapped) } }), 422, "VALIDATION", "message");

  // No nonce line at all: not a GPUMesh sign-in message.
  const bare = "example.com wants you to sign in with your Solana account";
  await expectError(await api.post("/api/auth/verify", { data: { address, message: bare, signature: signText(wallet, bare) } }), 422, "VALIDATION", "message");
  // Malformed fields are refused by the schema, naming them.
  await expectError(await api.post("/api/auth/verify", { data: { address, message: a.message, signature: "not base58!" } }), 422, "VALIDATION", "signature");
  await expectError(await api.post("/api/auth/verify", { data: { address, message: "", signature: signText(wallet, a.message) } }), 422, "VALIDATION", "message");
  expect(await whoAmI(api)).toBeNull();
  await api.dispose();
});

test("another wallet cannot sign in with a message issued to someone else", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const owner = Keypair.generate();
  const other = Keypair.generate();
  // The other wallet signs the owner's message and names itself: the message was not issued to it.
  const issued = await challenge(api, owner.publicKey.toBase58());
  await expectError(
    await api.post("/api/auth/verify", { data: { address: other.publicKey.toBase58(), message: issued.message, signature: signText(other, issued.message) } }),
    422,
    "VALIDATION",
    "address",
  );
  // It signs the owner's message and names the owner: the signature is not the owner's.
  const again = await challenge(api, owner.publicKey.toBase58());
  await expectError(
    await api.post("/api/auth/verify", { data: { address: owner.publicKey.toBase58(), message: again.message, signature: signText(other, again.message) } }),
    401,
    "UNAUTHENTICATED",
    "signature",
  );
  expect(await whoAmI(api)).toBeNull();
  await api.dispose();
});

test("a verified message signs in once: the session cookie is httpOnly and SameSite=Lax, a replay is 410", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const wallet = Keypair.generate();
  const address = wallet.publicKey.toBase58();
  const { message, expiresAt } = await challenge(api, address);
  expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
  expect(message).toContain(`${new URL(baseURL!).host} wants you to sign in with your Solana account:\n${address}\n`);
  const body = { address, message, signature: signText(wallet, message) };

  const verified = await api.post("/api/auth/verify", { data: body });
  const view = await json<{ walletAddress: string; expiresAt: string }>(verified);
  expect(view.walletAddress).toBe(address);
  const cookies = verified.headersArray().filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value);
  expect(cookies).toHaveLength(1);
  const attributes = cookies[0]!.split(";").map((part) => part.trim().toLowerCase());
  expect(attributes[0]).toMatch(/^gpumesh_session=[A-Za-z0-9_-]{43}$/i);
  expect(attributes).toContain("httponly");
  expect(attributes).toContain("samesite=lax");
  expect(attributes).toContain("path=/");
  expect((await whoAmI(api))?.walletAddress).toBe(address);

  // The same signed message again, from a client without the cookie: the nonce was single use.
  const replayer = await apiClient(playwright, baseURL!);
  await expectError(await replayer.post("/api/auth/verify", { data: body }), 410, "EXPIRED", "message");
  expect(await whoAmI(replayer)).toBeNull();
  await Promise.all([api.dispose(), replayer.dispose()]);
});

test("sign-out revokes the session: the same cookie is then refused on every session route", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const wallet = Keypair.generate();
  await signIn(api, wallet);
  const cookie = await sessionCookie(api);
  const quote = `/api/v1/quotes/${randomUUID()}`;
  // Signed in: an unknown quote is 404, not 401.
  await expectError(await api.get(quote), 404, "NOT_FOUND");

  const out = await api.post("/api/auth/sign-out");
  expect(await json<{ signedOut: boolean }>(out)).toEqual({ signedOut: true });
  const cleared = out.headersArray().find((h) => h.name.toLowerCase() === "set-cookie")?.value ?? "";
  expect(cleared).toMatch(/^gpumesh_session=;/i);
  expect(await whoAmI(api)).toBeNull();

  // Someone who kept the old cookie (another tab, a copy): revoked in Postgres, so refused.
  const kept = await apiClient(playwright, baseURL!, { cookie: `${cookie.name}=${cookie.value}` });
  expect(await whoAmI(kept)).toBeNull();
  await expectError(await kept.get(quote), 401, "UNAUTHENTICATED");
  await expectError(await kept.post("/api/v1/quotes", { data: {} }), 401, "UNAUTHENTICATED");
  // Signing out twice is harmless.
  expect(await json<{ signedOut: boolean }>(await kept.post("/api/auth/sign-out"))).toEqual({ signedOut: true });
  await Promise.all([api.dispose(), kept.dispose()]);
});

test("a state change from a foreign Origin is 403 and changes nothing", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const wallet = Keypair.generate();
  await signIn(api, wallet);
  const foreign = { origin: "https://evil.example" };
  await expectError(await api.post("/api/auth/nonce", { data: { address: wallet.publicKey.toBase58() }, headers: foreign }), 403, "FORBIDDEN");
  await expectError(await api.post("/api/v1/quotes", { data: {}, headers: foreign }), 403, "FORBIDDEN");
  await expectError(await api.post(`/api/v1/clusters/${randomUUID()}/terminate`, { headers: foreign }), 403, "FORBIDDEN");
  // A cross-site sign-out would log the renter out: refused, the session stays.
  await expectError(await api.post("/api/auth/sign-out", { headers: foreign }), 403, "FORBIDDEN");
  expect((await whoAmI(api))?.walletAddress).toBe(wallet.publicKey.toBase58());
  // A look-alike of the allowed origin is foreign too.
  await expectError(await api.post("/api/auth/sign-out", { headers: { origin: `${new URL(baseURL!).origin}.evil.example` } }), 403, "FORBIDDEN");
  expect((await whoAmI(api))?.walletAddress).toBe(wallet.publicKey.toBase58());
  // Same origin, or none (a non-browser client), is allowed.
  const noOrigin = await playwright.request.newContext({ baseURL, storageState: await api.storageState() });
  expect((await whoAmI(noOrigin))?.walletAddress).toBe(wallet.publicKey.toBase58());
  await Promise.all([api.dispose(), noOrigin.dispose()]);
});

test("every session route is 401 without a session, before it looks at the request", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  const id = randomUUID();
  const routes: [string, string, unknown?][] = [
    ["POST", "/api/v1/quotes", { gpuCount: 1 }],
    ["GET", `/api/v1/quotes/${id}`],
    ["POST", `/api/v1/quotes/${id}/transaction`],
    ["POST", `/api/v1/quotes/${id}/payment`, { transaction: "AAAA" }],
    ["GET", `/api/v1/clusters/${id}`],
    ["GET", `/api/v1/clusters/${id}/events`],
    ["POST", `/api/v1/clusters/${id}/terminate`],
    ["POST", `/api/v1/clusters/${id}/extension/transaction`, { hours: 1 }],
    ["POST", `/api/v1/clusters/${id}/extension`, { hours: 1, transaction: "AAAA" }],
    // Not even a malformed id is looked at.
    ["GET", "/api/v1/clusters/not-a-uuid"],
  ];
  for (const [method, path, data] of routes) {
    await expectError(await api.fetch(path, { method, ...(data === undefined ? {} : { data }) }), 401, "UNAUTHENTICATED");
  }
  await api.dispose();
});

test("the public routes answer without a session and name nothing internal", async ({ playwright, baseURL }) => {
  const api = await apiClient(playwright, baseURL!);
  expect(await json(await api.get("/api/health"))).toEqual({ status: "ok", database: "ok", redis: "ok", chain: "ok" });
  const network = await json<{ devices: { total: number } }>(await api.get("/api/v1/network"));
  expect(network.devices.total).toBeGreaterThan(0);
  const { markets } = await json<{ markets: { gpuModelId: string; pricePerGpuHour: string | null }[] }>(await api.get("/api/v1/availability"));
  expect(markets.length).toBeGreaterThan(0);
  expect(markets.some((m) => m.pricePerGpuHour !== null && /^\d+$/.test(m.pricePerGpuHour))).toBe(true);
  await expectError(await api.get("/api/v1/availability?token=DOGE"), 422, "VALIDATION", "token");
  expect(await whoAmI(api)).toBeNull();
  await api.dispose();
});
