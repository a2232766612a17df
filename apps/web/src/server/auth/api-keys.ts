import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { ApiError, notFound } from "../api/errors.ts";
import { db } from "../db.ts";
import type { Session } from "./session.ts";

/**
 * API keys for scripts: `gmk_` + 32 random bytes (base64url). The key is shown once, at creation;
 * Postgres keeps its SHA-256 and its first characters (the prefix, so its owner can tell keys apart).
 * A key acts as its account on the routes that accept keys; it cannot list, mint or revoke keys.
 */
export const KEY_PREFIX = "gmk_";
const PREFIX_CHARS = 12;
/** Live keys per account: enough for every script, few enough to review. */
export const MAX_LIVE_KEYS = 20;

const hash = (key: string) => createHash("sha256").update(key).digest("hex");

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const viewFields = { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

/** The account's keys, newest first (revoked ones too, marked). */
export function listApiKeys(accountId: string): Promise<ApiKeyView[]> {
  return db.apiKey.findMany({ where: { accountId }, orderBy: { createdAt: "desc" }, select: viewFields, take: 100 });
}

/** A new key: the secret is in the answer only, never stored. */
export async function createApiKey(accountId: string, name: string): Promise<ApiKeyView & { key: string }> {
  const live = await db.apiKey.count({ where: { accountId, revokedAt: null } });
  if (live >= MAX_LIVE_KEYS) throw new ApiError("CONFLICT", `you have ${MAX_LIVE_KEYS} live keys; revoke one first`);
  const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  const row = await db.apiKey.create({ data: { accountId, name, prefix: key.slice(0, PREFIX_CHARS), keyHash: hash(key) }, select: viewFields });
  return { ...row, key };
}

/** Revokes one of the account's keys (idempotent); another account's key is indistinguishable from none. */
export async function revokeApiKey(accountId: string, id: string, now = new Date()): Promise<ApiKeyView> {
  const row = await db.apiKey.findFirst({ where: { id, accountId }, select: { id: true, revokedAt: true } });
  if (!row) throw notFound("API key");
  if (!row.revokedAt) await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
  return db.apiKey.findUniqueOrThrow({ where: { id }, select: viewFields });
}

/** What a bearer key authenticates as, or an INVALID_API_KEY error (unknown, malformed or revoked). */
export async function sessionForApiKey(key: string, now = new Date()): Promise<Session & { apiKeyId: string }> {
  const invalid = new ApiError("INVALID_API_KEY", "the API key is unknown or revoked");
  if (!key.startsWith(KEY_PREFIX) || key.length > 100) throw invalid;
  const row = await db.apiKey.findUnique({
    where: { keyHash: hash(key) },
    select: { id: true, accountId: true, revokedAt: true, lastUsedAt: true, account: { select: { walletAddress: true } } },
  });
  if (!row || row.revokedAt) throw invalid;
  // Written at most once a minute: a busy script must not turn every read into a write.
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiKey.updateMany({ where: { id: row.id, revokedAt: null }, data: { lastUsedAt: now } });
  }
  return { id: row.id, apiKeyId: row.id, accountId: row.accountId, walletAddress: row.account.walletAddress, expiresAt: new Date(8_640_000_000_000_000) };
}
