// The API specs' client side: a fresh keypair funded on `pnpm dev`'s localnet, signed in through the
// real Sign-In With Solana routes, and an APIRequestContext that carries its session cookie; plus the
// envelope assertion every error test uses and the few chain reads that check money to the base unit.
import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { expect, type APIRequestContext, type APIResponse, type PlaywrightWorkerArgs } from "@playwright/test";
import { localnetAccounts, tokenBalance } from "@gpumesh/chain/localnet";
import { Connection, Keypair, Transaction, type PublicKey } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "../playwright.config.ts";
import { fundRenter } from "../wallet/fund.ts";

export const chain = new Connection(E2E_LOCALNET_URL, "confirmed");
export const USDC_MINT = localnetAccounts().usdcMint;

type Playwright = PlaywrightWorkerArgs["playwright"];

/**
 * A client of the API as a browser on `baseURL` would be: every request carries that Origin (state
 * changes from another origin are refused) and, so that the specs' many sign-ins do not share the
 * sign-in rate limit's bucket with each other or with the UI specs, an X-Forwarded-For address of
 * its own from the documentation range (the limiter keys on it; it is not authentication).
 */
export async function apiClient(playwright: Playwright, baseURL: string, headers: Record<string, string> = {}): Promise<APIRequestContext> {
  const client = `198.51.100.${1 + randomBytes(1)[0]! % 254}`;
  // A fresh connection per request: the server closes a keep-alive socket after 5 s idle, and a request
  // sent on it at that moment is reset (ECONNRESET, seen under load). Browsers retry those; these
  // clients must not, as a retried POST is a second request.
  return playwright.request.newContext({ baseURL, extraHTTPHeaders: { origin: new URL(baseURL).origin, "x-forwarded-for": client, connection: "close", ...headers } });
}

export interface Challenge {
  message: string;
  nonce: string;
  expiresAt: string;
}

/** POST /api/auth/nonce for `address`: the sign-in message the server wrote. */
export async function challenge(api: APIRequestContext, address: string): Promise<Challenge> {
  const response = await api.post("/api/auth/nonce", { data: { address } });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as Challenge;
}

/** Ed25519 over the message's UTF-8 bytes, base58: what a wallet's signMessage returns. */
export function signText(keypair: Keypair, message: string): string {
  return base58.encode(ed25519.sign(new TextEncoder().encode(message), keypair.secretKey.slice(0, 32)));
}

/** Signs `api` in as `keypair` (nonce, sign, verify); the session cookie stays in `api`. */
export async function signIn(api: APIRequestContext, keypair: Keypair): Promise<APIResponse> {
  const address = keypair.publicKey.toBase58();
  const { message } = await challenge(api, address);
  const response = await api.post("/api/auth/verify", { data: { address, message, signature: signText(keypair, message) } });
  expect(response.status(), await response.text()).toBe(200);
  return response;
}

export interface Renter {
  keypair: Keypair;
  address: string;
  /** Signed in: its session cookie rides along. */
  api: APIRequestContext;
  usdcAccount: PublicKey;
}

/** A fresh wallet with `usdc` base units of dev USDC (and SOL for fees), signed in. */
export async function signedInRenter(playwright: Playwright, baseURL: string, funds: { usdc?: bigint } = {}): Promise<Renter> {
  const keypair = Keypair.generate();
  const { usdcAccount } = await fundRenter(E2E_LOCALNET_URL, keypair, { sol: 2, usdc: funds.usdc ?? 0n });
  const api = await apiClient(playwright, baseURL);
  await signIn(api, keypair);
  return { keypair, address: keypair.publicKey.toBase58(), api, usdcAccount };
}

/** The session token in `api`'s cookie jar (to replay it by hand after sign-out). */
export async function sessionCookie(api: APIRequestContext): Promise<{ name: string; value: string }> {
  const cookie = (await api.storageState()).cookies.find((c) => c.name.endsWith("gpumesh_session"));
  if (!cookie) throw new Error("no session cookie in this context");
  return { name: cookie.name, value: cookie.value };
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: unknown };
}

/**
 * Asserts the one error envelope: the status, `{ error: { code, message, field? } }` with exactly the
 * given code and field (absent when `field` is undefined), a message for people, and no other keys.
 */
export async function expectError(response: APIResponse, status: number, code: string, field?: string): Promise<ErrorBody> {
  const text = await response.text();
  expect(response.status(), text).toBe(status);
  expect(response.headers()["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code, text).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (field === undefined) expect(body.error.field, text).toBeUndefined();
  else expect(body.error.field, text).toBe(field);
  for (const key of Object.keys(body.error)) expect(["code", "message", "field", "details"]).toContain(key);
  return body;
}

/** The JSON body of a response that must have `status` (the body is shown when it has not). */
export async function json<T>(response: APIResponse, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status(), text).toBe(status);
  return JSON.parse(text) as T;
}

/** The renter's dev USDC, base units. */
export const usdc = (renter: Renter) => tokenBalance(chain, renter.usdcAccount);

/** Signs a server-built transaction (base64 wire) with the renter's key, as a wallet's signTransaction does. */
export function signWire(wire: string, keypair: Keypair): string {
  const tx = Transaction.from(Buffer.from(wire, "base64"));
  tx.partialSign(keypair);
  return tx.serialize().toString("base64");
}

/** Polls `read` until `done` holds (or the test's timeout); returns the last value. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, options: { timeoutMs?: number; everyMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "a condition"}: last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 500));
    value = await read();
  }
  return value;
}

/**
 * POST /api/v1/quotes for the first of `attempts` (each merged over `base`) the network can serve:
 * devices are leased whole, and the availability table does not say how the free GPUs are split
 * into devices, so a client tries a few shapes; a 409 NO_CAPACITY holds nothing.
 */
export async function firstQuote<Q>(api: APIRequestContext, base: Record<string, unknown>, attempts: Record<string, unknown>[]): Promise<{ quote: Q; body: Record<string, unknown> }> {
  const refusals: string[] = [];
  for (const attempt of attempts) {
    const body = { ...base, ...attempt };
    const response = await api.post("/api/v1/quotes", { data: body });
    if (response.status() === 201) return { quote: (await response.json()) as Q, body };
    const refused = await expectError(response, 409, "NO_CAPACITY");
    refusals.push(refused.error.message);
  }
  throw new Error(`no quote for any of ${JSON.stringify(attempts)}: ${refusals.join(" | ")}`);
}
