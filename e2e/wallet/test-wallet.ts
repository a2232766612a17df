// A Wallet Standard wallet for browser tests, backed by a keypair the test hands in. It runs in the
// page (bundled by ./index.ts into one IIFE for `page.addInitScript`), registers itself the standard
// way (`registerWallet`: the `wallet-standard:register-wallet` / `wallet-standard:app-ready` events),
// approves every request without a popup, and signs with ed25519 exactly as a real wallet would.
// A spec can watch and steer it through `window.__gpumeshTestWallet` (see `TestWalletControl`).
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import {
  SolanaSignAndSendTransaction,
  SolanaSignIn,
  SolanaSignMessage,
  SolanaSignTransaction,
  type SolanaSignAndSendTransactionFeature,
  type SolanaSignAndSendTransactionInput,
  type SolanaSignAndSendTransactionOutput,
  type SolanaSignInFeature,
  type SolanaSignInInput,
  type SolanaSignInOutput,
  type SolanaSignMessageFeature,
  type SolanaSignMessageInput,
  type SolanaSignMessageOutput,
  type SolanaSignTransactionFeature,
  type SolanaSignTransactionInput,
  type SolanaSignTransactionOutput,
} from "@solana/wallet-standard-features";
import { createSignInMessage } from "@solana/wallet-standard-util";
import type { IdentifierString, Wallet, WalletAccount, WalletIcon } from "@wallet-standard/base";
import {
  StandardConnect,
  StandardDisconnect,
  StandardEvents,
  type StandardConnectFeature,
  type StandardDisconnectFeature,
  type StandardEventsFeature,
  type StandardEventsListeners,
  type StandardEventsNames,
} from "@wallet-standard/features";
import { ReadonlyWalletAccount, registerWallet } from "@wallet-standard/wallet";

/** What `testWalletScript` passes in (JSON: byte arrays as number arrays). */
export interface TestWalletConfig {
  /** 64-byte Solana secret key (seed ‖ public key, as `Keypair.secretKey`) or the 32-byte seed. */
  secretKey: number[];
  name: string;
  chains: IdentifierString[];
  /**
   * JSON-RPC endpoint for `solana:signAndSendTransaction` (offered only with it). Sent through
   * `installTestWallet`'s binding when there is one, else fetched from the page (which the page's CSP
   * and Chromium's local-network rules must then allow).
   */
  rpcUrl?: string;
  /** Connect without being asked (as a wallet the user approved before). */
  autoConnect: boolean;
}

/** One request the page made of the wallet, in order. */
export interface TestWalletRequest {
  feature: string;
  /** Bytes the page asked to have signed (message, transaction or sign-in message), base64. */
  payload?: string;
  /** The request failed on purpose (`rejectRequests`). */
  rejected?: boolean;
}

/** `window.__gpumeshTestWallet`: lets a spec see what was asked and make the "user" say no. */
export interface TestWalletControl {
  name: string;
  address: string;
  requests: TestWalletRequest[];
  /** While true every connect and signing request fails as a user rejection would. */
  rejectRequests: boolean;
  /** Disconnects from the wallet's side (the user disconnected in the extension). */
  disconnect(): void;
}

/** How `installTestWallet`'s binding sends a signed wire transaction (base64); resolves to its base58 signature. */
export type TestWalletSend = (wireBase64: string, options: { skipPreflight: boolean; preflightCommitment: string }) => Promise<string>;

declare global {
  interface Window {
    __gpumeshTestWallet?: TestWalletControl;
    __gpumeshTestWalletSend?: TestWalletSend;
  }
}

const SVG_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0f766e"/><path d="M9 11h14v10H9z" fill="none" stroke="#fff" stroke-width="2"/><circle cx="19" cy="16" r="2" fill="#fff"/></svg>';
const ICON: WalletIcon = `data:image/svg+xml;base64,${btoa(SVG_ICON)}`;

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function userRejected(): Error {
  const error = new Error("User rejected the request.");
  (error as Error & { code: number }).code = 4001;
  return error;
}

/** Solana's compact-u16 (shortvec): returns [value, bytes read]. */
function readShortVec(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  for (let size = 0; size < 3; size++) {
    const byte = bytes[offset + size];
    if (byte === undefined) throw new Error("truncated transaction");
    value |= (byte & 0x7f) << (size * 7);
    if ((byte & 0x80) === 0) return [value, size + 1];
  }
  throw new Error("bad compact-u16 in transaction");
}

/**
 * Signs a wire transaction (legacy or v0) in place of `publicKey`'s signature slot: the signature
 * covers the message bytes; the slot is the key's index among the message's required signers.
 */
function signWireTransaction(wire: Uint8Array, seed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const [signatureCount, countBytes] = readShortVec(wire, 0);
  const messageStart = countBytes + signatureCount * 64;
  const message = wire.subarray(messageStart);
  const versioned = (message[0]! & 0x80) !== 0;
  const header = versioned ? 1 : 0;
  const requiredSignatures = message[header]!;
  const [keyCount, keyCountBytes] = readShortVec(message, header + 3);
  const keysStart = header + 3 + keyCountBytes;
  if (requiredSignatures !== signatureCount || keyCount < requiredSignatures) throw new Error("malformed transaction: signature count does not match its message");
  for (let index = 0; index < requiredSignatures; index++) {
    const key = message.subarray(keysStart + index * 32, keysStart + (index + 1) * 32);
    if (key.every((byte, i) => byte === publicKey[i])) {
      const signed = Uint8Array.from(wire);
      signed.set(ed25519.sign(message, seed), countBytes + index * 64);
      return signed;
    }
  }
  throw new Error("this transaction does not ask the wallet's account to sign");
}

class TestWallet implements Wallet {
  readonly version = "1.0.0" as const;
  readonly name: string;
  readonly icon = ICON;
  readonly chains: IdentifierString[];
  readonly #seed: Uint8Array;
  readonly #account: WalletAccount;
  readonly #publicKey: Uint8Array;
  /** `standard:events` has one event, `change`. */
  readonly #listeners = new Set<StandardEventsListeners["change"]>();
  readonly #control: TestWalletControl;
  readonly #rpcUrl: string | undefined;
  #connected = false;

  constructor(config: TestWalletConfig) {
    const secret = Uint8Array.from(config.secretKey);
    if (secret.length !== 32 && secret.length !== 64) throw new Error(`test wallet: a secret key is 32 or 64 bytes, got ${secret.length}`);
    this.#seed = secret.slice(0, 32);
    const publicKey = ed25519.getPublicKey(this.#seed);
    if (secret.length === 64 && !secret.subarray(32).every((byte, i) => byte === publicKey[i])) throw new Error("test wallet: the secret key's public half does not match its seed");
    this.name = config.name;
    this.chains = config.chains;
    this.#rpcUrl = config.rpcUrl;
    const features: IdentifierString[] = [SolanaSignMessage, SolanaSignTransaction, SolanaSignIn];
    if (config.rpcUrl) features.push(SolanaSignAndSendTransaction);
    this.#publicKey = publicKey;
    this.#account = new ReadonlyWalletAccount({ address: base58.encode(publicKey), publicKey, chains: config.chains, features });
    this.#connected = config.autoConnect;
    this.#control = {
      name: config.name,
      address: this.#account.address,
      requests: [],
      rejectRequests: false,
      disconnect: () => this.#disconnect(),
    };
    window.__gpumeshTestWallet = this.#control;
  }

  get accounts(): readonly WalletAccount[] {
    return this.#connected ? [this.#account] : [];
  }

  get features(): StandardConnectFeature &
    StandardDisconnectFeature &
    StandardEventsFeature &
    SolanaSignMessageFeature &
    SolanaSignTransactionFeature &
    SolanaSignInFeature &
    Partial<SolanaSignAndSendTransactionFeature> {
    return {
      [StandardConnect]: { version: "1.0.0", connect: async () => this.#connect() },
      [StandardDisconnect]: { version: "1.0.0", disconnect: async () => this.#disconnect() },
      [StandardEvents]: { version: "1.0.0", on: (event, listener) => this.#on(event, listener) },
      [SolanaSignMessage]: { version: "1.1.0", signMessage: async (...inputs) => this.#signMessage(inputs) },
      [SolanaSignTransaction]: { version: "1.0.0", supportedTransactionVersions: ["legacy", 0], signTransaction: async (...inputs) => this.#signTransaction(inputs) },
      [SolanaSignIn]: { version: "1.0.0", signIn: async (...inputs) => this.#signIn(inputs) },
      ...(this.#rpcUrl
        ? { [SolanaSignAndSendTransaction]: { version: "1.0.0", supportedTransactionVersions: ["legacy", 0], signAndSendTransaction: async (...inputs) => this.#signAndSend(inputs) } }
        : {}),
    } satisfies Partial<StandardConnectFeature & StandardDisconnectFeature & StandardEventsFeature & SolanaSignMessageFeature & SolanaSignTransactionFeature & SolanaSignInFeature & SolanaSignAndSendTransactionFeature>;
  }

  #request(feature: string, payload?: Uint8Array): void {
    const rejected = this.#control.rejectRequests;
    this.#control.requests.push({ feature, ...(payload ? { payload: toBase64(payload) } : {}), ...(rejected ? { rejected } : {}) });
    if (rejected) throw userRejected();
  }

  #ownAccount(account: WalletAccount): void {
    if (!this.#connected) throw new Error("the wallet is not connected");
    if (account.address !== this.#account.address) throw new Error(`unknown account ${account.address}`);
  }

  #emit(): void {
    for (const listener of this.#listeners) listener({ accounts: this.accounts });
  }

  #on(event: StandardEventsNames, listener: StandardEventsListeners["change"]): () => void {
    if (event !== "change") return () => undefined;
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  #connect(): { accounts: readonly WalletAccount[] } {
    this.#request(StandardConnect);
    if (!this.#connected) {
      this.#connected = true;
      this.#emit();
    }
    return { accounts: this.accounts };
  }

  #disconnect(): void {
    this.#control.requests.push({ feature: StandardDisconnect });
    if (!this.#connected) return;
    this.#connected = false;
    this.#emit();
  }

  #signMessage(inputs: readonly SolanaSignMessageInput[]): SolanaSignMessageOutput[] {
    return inputs.map(({ account, message }) => {
      this.#ownAccount(account);
      this.#request(SolanaSignMessage, message);
      return { signedMessage: message, signature: ed25519.sign(message, this.#seed), signatureType: "ed25519" };
    });
  }

  #signTransaction(inputs: readonly SolanaSignTransactionInput[]): SolanaSignTransactionOutput[] {
    return inputs.map(({ account, transaction, chain }) => {
      this.#ownAccount(account);
      if (chain && !this.chains.includes(chain)) throw new Error(`unsupported chain ${chain}`);
      this.#request(SolanaSignTransaction, transaction);
      return { signedTransaction: signWireTransaction(transaction, this.#seed, this.#publicKey) };
    });
  }

  async #signAndSend(inputs: readonly SolanaSignAndSendTransactionInput[]): Promise<SolanaSignAndSendTransactionOutput[]> {
    const outputs: SolanaSignAndSendTransactionOutput[] = [];
    for (const { account, transaction, chain, options } of inputs) {
      this.#ownAccount(account);
      if (!this.chains.includes(chain)) throw new Error(`unsupported chain ${chain}`);
      this.#request(SolanaSignAndSendTransaction, transaction);
      const signed = signWireTransaction(transaction, this.#seed, this.#publicKey);
      const sendOptions = { skipPreflight: options?.skipPreflight ?? false, preflightCommitment: options?.preflightCommitment ?? "confirmed" };
      // Like an extension, which sends from its own process: `installTestWallet` exposes a binding
      // that sends from Node (no page CSP, CORS or local-network checks in the way).
      if (window.__gpumeshTestWalletSend) {
        outputs.push({ signature: base58.decode(await window.__gpumeshTestWalletSend(toBase64(signed), sendOptions)) });
        continue;
      }
      const response = await fetch(this.#rpcUrl!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "sendTransaction",
          params: [toBase64(signed), { encoding: "base64", ...sendOptions }],
        }),
      });
      const body = (await response.json()) as { result?: string; error?: { message: string } };
      if (!body.result) throw new Error(`sendTransaction failed: ${body.error?.message ?? response.status}`);
      outputs.push({ signature: base58.decode(body.result) });
    }
    return outputs;
  }

  #signIn(inputs: readonly SolanaSignInInput[]): SolanaSignInOutput[] {
    return inputs.map((input) => {
      if (input.address && input.address !== this.#account.address) throw new Error(`unknown account ${input.address}`);
      // Signing in connects, as in real wallets; the domain defaults to the page's host.
      if (!this.#connected) this.#connect();
      const message = createSignInMessage({ ...input, domain: input.domain ?? window.location.host, address: input.address ?? this.#account.address });
      this.#request(SolanaSignIn, message);
      return { account: this.#account, signedMessage: message, signature: ed25519.sign(message, this.#seed), signatureType: "ed25519" };
    });
  }
}

/** Entry point of the bundle: `testWalletScript` calls it with the test's config. */
export function registerTestWallet(config: TestWalletConfig): void {
  registerWallet(new TestWallet(config));
}
