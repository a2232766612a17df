// The simulated renters' HTTP client: what a script written against the public API does. It signs in
// with Sign-In With Solana (nonce → wallet signature → session cookie), sends the Origin a browser on
// the site would, and turns the one error envelope into a typed error a caller can branch on.
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { Transaction, type Keypair } from "@solana/web3.js";

/** A refusal from the API: the envelope's code, field and message, and the HTTP status. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(`${status} ${code}${field ? ` (${field})` : ""}: ${message}`);
  }
}

export class ApiClient {
  private cookie: string | null = null;

  constructor(
    readonly baseUrl: string,
    readonly keypair: Keypair,
  ) {}

  get address(): string {
    return this.keypair.publicKey.toBase58();
  }

  /** Signs in (or again, after the session expired): the server writes the message, the wallet signs it. */
  async signIn(): Promise<void> {
    this.cookie = null;
    const { message } = await this.request<{ message: string }>("POST", "/api/auth/nonce", { address: this.address }, { retryAuth: false });
    const signature = base58.encode(ed25519.sign(new TextEncoder().encode(message), this.keypair.secretKey.slice(0, 32)));
    await this.request("POST", "/api/auth/verify", { address: this.address, message, signature }, { retryAuth: false });
    if (!this.cookie) throw new Error("sign-in answered without a session cookie");
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** A server-built transaction (base64 wire) signed with this wallet's key, as a wallet's signTransaction does. */
  sign(wire: string): string {
    const tx = Transaction.from(Buffer.from(wire, "base64"));
    tx.partialSign(this.keypair);
    return tx.serialize().toString("base64");
  }

  private async request<T>(method: string, path: string, body?: unknown, options: { retryAuth?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { origin: new URL(this.baseUrl).origin, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.cookie) headers.cookie = this.cookie;
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      if (pair?.includes("gpumesh_session=")) this.cookie = pair.endsWith("=") ? null : pair;
    }
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    // A session that expired (or a restarted dev database): sign in again once, then repeat.
    if (response.status === 401 && options.retryAuth !== false) {
      await this.signIn();
      return this.request<T>(method, path, body, { retryAuth: false });
    }
    let envelope: { error?: { code?: string; message?: string; field?: string } } = {};
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      // Not our envelope (a proxy's page, a dev server still compiling): keep the status only.
    }
    throw new ApiRefusal(response.status, envelope.error?.code ?? "HTTP_ERROR", envelope.error?.message ?? response.statusText, envelope.error?.field);
  }
}
