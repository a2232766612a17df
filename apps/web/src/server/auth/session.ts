import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { env } from "../../env.ts";
import { db } from "../db.ts";

/**
 * Browser sessions: a random 256-bit token in an httpOnly, SameSite=Lax cookie (Secure and
 * `__Host-`-prefixed when served over https); Postgres keeps only its SHA-256, with an expiry and a
 * revocation time, so signing out (or an operator) ends a session at once, everywhere.
 */
export interface Session {
  id: string;
  accountId: string;
  walletAddress: string;
  expiresAt: Date;
}

const secure = env.WEB_ORIGINS[0]!.startsWith("https:");
export const SESSION_COOKIE = secure ? "__Host-gpumesh_session" : "gpumesh_session";

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** Signs `walletAddress` in: its account (created on first sign-in) and a new session; sets the cookie. */
export async function startSession(walletAddress: string, userAgent: string | null, now = new Date()): Promise<Session> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + env.SESSION_TTL_H * 3_600_000);
  const account = await db.account.upsert({
    where: { walletAddress },
    create: { walletAddress, lastSignInAt: now },
    update: { lastSignInAt: now },
    select: { id: true },
  });
  const row = await db.session.create({
    data: { accountId: account.id, tokenHash: hash(token), expiresAt, userAgent: userAgent?.slice(0, 200) ?? null },
    select: { id: true },
  });
  (await cookies()).set(SESSION_COOKIE, token, { httpOnly: true, sameSite: "lax", secure, path: "/", expires: expiresAt });
  return { id: row.id, accountId: account.id, walletAddress, expiresAt };
}

/** The session of this request's cookie, when it is valid (not expired, not revoked). */
export async function currentSession(now = new Date()): Promise<Session | null> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token || token.length > 100) return null;
  const row = await db.session.findUnique({
    where: { tokenHash: hash(token) },
    select: { id: true, accountId: true, expiresAt: true, revokedAt: true, account: { select: { walletAddress: true } } },
  });
  if (!row || row.revokedAt || row.expiresAt <= now) return null;
  return { id: row.id, accountId: row.accountId, walletAddress: row.account.walletAddress, expiresAt: row.expiresAt };
}

/** Revokes this request's session (if any) and clears the cookie. */
export async function endSession(now = new Date()): Promise<void> {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token) await db.session.updateMany({ where: { tokenHash: hash(token), revokedAt: null }, data: { revokedAt: now } });
  jar.delete(SESSION_COOKIE);
}

/**
 * The session of a signed-in page, or a redirect to sign-in (and back here afterwards). Every page of
 * the (app) group calls it: Next renders a page in parallel with its layout, so the layout's check
 * alone does not stop the page from running.
 */
export async function requireSession(): Promise<Session> {
  const session = await currentSession();
  if (session) return session;
  const path = (await headers()).get("x-gpumesh-path") ?? "/clusters";
  redirect(`/sign-in?next=${encodeURIComponent(path)}`);
}
