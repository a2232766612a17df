// Browser tests' wallet: `installTestWallet` puts it in a page or context; `testWalletScript` bundles ./test-wallet.ts (esbuild, once per process) into
// one script for `page.addInitScript`, which registers a Wallet Standard wallet holding the given
// key in every page of that context; `fundRenter` gives a fresh key SOL, USDC and MESH on
// `pnpm dev`'s localnet.
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "@playwright/test";
import { Connection, type Commitment } from "@solana/web3.js";
import { build } from "esbuild";
import type { TestWalletConfig, TestWalletSend } from "./test-wallet.ts";

export { fundRenter, type FundedRenter, type RenterFunds } from "./fund.ts";
export type { TestWalletControl, TestWalletRequest } from "./test-wallet.ts";

export interface TestWalletOptions {
  /** The name apps list it under (default "GPUMesh Test Wallet"). */
  name?: string;
  /** Default `solana:localnet` and `solana:devnet`. */
  chains?: TestWalletConfig["chains"];
  /** Where `solana:signAndSendTransaction` sends (that feature is offered only with it): e.g. `E2E_LOCALNET_URL`. */
  rpcUrl?: string;
  /** Already connected when the page loads, as a wallet the user approved before (default false). */
  autoConnect?: boolean;
}

const bundles = new Map<string, Promise<string>>();

/** One entry bundled as an IIFE that leaves its exports in `globalName` (cached per process). */
function bundle(entry: string, globalName: string, contents?: string): Promise<string> {
  const key = `${entry}\0${globalName}`;
  let pending = bundles.get(key);
  if (!pending) {
    pending = build({
      ...(contents === undefined ? { entryPoints: [entry] } : { stdin: { contents, resolveDir: fileURLToPath(new URL(".", import.meta.url)), loader: "ts" } }),
      bundle: true,
      write: false,
      format: "iife",
      globalName,
      platform: "browser",
      target: "es2022",
      legalComments: "none",
      logLevel: "silent",
    }).then((result) => result.outputFiles[0]!.text);
    bundles.set(key, pending);
  }
  return pending;
}

/**
 * The init script of a Wallet Standard wallet signing with `secretKey` (64-byte `Keypair.secretKey`
 * or its 32-byte seed): `await page.addInitScript(await testWalletScript(renter.secretKey))`, or on
 * the context for every page. Never use a key that holds anything real: the script carries it.
 */
export async function testWalletScript(secretKey: Uint8Array, options: TestWalletOptions = {}): Promise<string> {
  const config: TestWalletConfig = {
    secretKey: Array.from(secretKey),
    name: options.name ?? "GPUMesh Test Wallet",
    chains: options.chains ?? ["solana:localnet", "solana:devnet"],
    autoConnect: options.autoConnect ?? false,
    ...(options.rpcUrl ? { rpcUrl: options.rpcUrl } : {}),
  };
  const code = await bundle(fileURLToPath(new URL("./test-wallet.ts", import.meta.url)), "__gpumeshTestWalletBundle");
  // The bundle's global stays inside this function: the page sees only the registered wallet.
  return `(() => {\n${code}\n__gpumeshTestWalletBundle.registerTestWallet(${JSON.stringify(config)});\n})();`;
}

/**
 * Installs the test wallet in every page of `target` (a context, or one page) from now on: the init
 * script, and with `rpcUrl` a binding through which `solana:signAndSendTransaction` sends from Node,
 * as an extension sends from its own process (the page's CSP and Chromium's local-network checks do
 * not apply to it). Call it before the page navigates.
 */
export async function installTestWallet(target: Page | BrowserContext, secretKey: Uint8Array, options: TestWalletOptions = {}): Promise<void> {
  if (options.rpcUrl) {
    const connection = new Connection(options.rpcUrl, "confirmed");
    const send: TestWalletSend = (wire, sendOptions) =>
      connection.sendRawTransaction(Buffer.from(wire, "base64"), { skipPreflight: sendOptions.skipPreflight, preflightCommitment: sendOptions.preflightCommitment as Commitment });
    await target.exposeBinding("__gpumeshTestWalletSend", (_source, wire: string, sendOptions: Parameters<TestWalletSend>[1]) => send(wire, sendOptions));
  }
  await target.addInitScript(await testWalletScript(secretKey, options));
}

/**
 * For test pages that are not the product: `@wallet-standard/app` as `window.walletStandardApp`
 * (`getWallets()`), the registry an app reads the installed wallets from.
 */
export function walletStandardAppScript(): Promise<string> {
  return bundle("@wallet-standard/app", "walletStandardApp", 'export { getWallets } from "@wallet-standard/app";');
}
