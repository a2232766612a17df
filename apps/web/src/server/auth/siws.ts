import "server-only";
import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { env } from "../../env.ts";
import { ApiError } from "../api/errors.ts";
import { redis } from "../redis.ts";

/**
 * Sign-In With Solana (the message format Phantom and Solflare display as a sign-in request).
 *
 * The server writes the whole message: domain and URI (one of WEB_ORIGINS, never a request's Host),
 * the wallet address, a random nonce, issued-at and expiry. It keeps the exact text in Redis under
 * the nonce for SIGN_IN_TTL_S; verification takes it out with GETDEL, so a nonce signs in at most once
 * even when two verifications race, and compares the signed text byte for byte. A message from another
 * site (other domain), another wallet, an old or reused nonce, or an expired one never signs anyone in.
 */

const STATEMENT = "Sign in to GPUMesh. This signature proves you own this wallet; it costs nothing and moves no funds.";
const KEY = (nonce: string) => `siws:nonce:${nonce}`;

export interface SignInChallenge {
  message: string;
  nonce: string;
  expiresAt: string;
}

/** The allowed origin a browser request came from (its Origin header), else the first configured one. */
export function originOf(request: Request): string {
  const origin = request.headers.get("origin");
  if (origin && env.WEB_ORIGINS.includes(origin)) return origin;
  return env.WEB_ORIGINS[0]!;
}

export function buildMessage(fields: { origin: string; address: string; nonce: string; issuedAt: Date; expiresAt: Date }): string {
  const url = new URL(fields.origin);
  return [
    `${url.host} wants you to sign in with your Solana account:`,
    fields.address,
    "",
    STATEMENT,
    "",
    `URI: ${url.origin}`,
    "Version: 1",
    `Nonce: ${fields.nonce}`,
    `Issued At: ${fields.issuedAt.toISOString()}`,
    `Expiration Time: ${fields.expiresAt.toISOString()}`,
  ].join("\n");
}

export async function issueChallenge(address: string, origin: string, now = new Date()): Promise<SignInChallenge> {
  const nonce = randomBytes(16).toString("hex");
  const expiresAt = new Date(now.getTime() + env.SIGN_IN_TTL_S * 1000);
  const message = buildMessage({ origin, address, nonce, issuedAt: now, expiresAt });
  await redis.set(KEY(nonce), JSON.stringify({ address, message, expiresAt: expiresAt.toISOString() }), "EX", env.SIGN_IN_TTL_S);
  return { message, nonce, expiresAt: expiresAt.toISOString() };
}

const NONCE_LINE = /^Nonce: ([0-9a-f]{32})$/m;

/**
 * Checks a signed sign-in message; returns the wallet address it proves. Consumes the nonce whatever
 * the outcome, so a failed attempt cannot be retried with the same message.
 */
export async function verifySignIn(input: { address: string; message: string; signature: string }, now = new Date()): Promise<string> {
  const nonce = NONCE_LINE.exec(input.message)?.[1];
  if (!nonce) throw new ApiError("VALIDATION", "message: not a GPUMesh sign-in message", "message");
  const stored = await redis.getdel(KEY(nonce));
  if (!stored) throw new ApiError("EXPIRED", "this sign-in request expired or was already used; start again", "message");
  const issued = JSON.parse(stored) as { address: string; message: string; expiresAt: string };
  if (issued.message !== input.message) throw new ApiError("VALIDATION", "message: differs from the one issued for this nonce", "message");
  if (issued.address !== input.address) throw new ApiError("VALIDATION", "address: not the wallet this sign-in request was issued to", "address");
  if (now.getTime() > Date.parse(issued.expiresAt)) throw new ApiError("EXPIRED", "this sign-in request expired; start again", "message");
  let ok = false;
  try {
    ok = ed25519.verify(base58.decode(input.signature), new TextEncoder().encode(input.message), base58.decode(input.address));
  } catch {
    ok = false;
  }
  if (!ok) throw new ApiError("UNAUTHENTICATED", "signature: does not verify with this wallet's key", "signature");
  return issued.address;
}
