import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2";
import { utf8ToBytes } from "@noble/hashes/utils";
import { base58 } from "@scure/base";

/**
 * A device's identity: an ed25519 key the agent generates at `join` and never sends anywhere. The
 * server stores only the public key (base58, like a Solana address) and authenticates each connection
 * by challenge–response over it (auth.ts).
 */
export interface DeviceKey {
  secretKey: Uint8Array;
  /** base58 */
  publicKey: string;
}

export function generateDeviceKey(): DeviceKey {
  return deviceKeyFromSecret(ed25519.utils.randomSecretKey());
}

export function deviceKeyFromSecret(secretKey: Uint8Array): DeviceKey {
  if (secretKey.length !== 32) throw new Error("a device secret key is 32 bytes");
  return { secretKey, publicKey: base58.encode(ed25519.getPublicKey(secretKey)) };
}

/**
 * The published key of the i-th device of `pnpm dev`'s seeded network (derived from a public string,
 * so anyone can impersonate it: dev and tests only). `gpumesh-agent simulate` connects them.
 */
export function devDeviceKey(index: number): DeviceKey {
  return deviceKeyFromSecret(sha256(utf8ToBytes(`gpumesh dev device ${index}`)));
}

export function signText(key: DeviceKey, text: string): string {
  return base58.encode(ed25519.sign(utf8ToBytes(text), key.secretKey));
}

/** False for anything malformed (bad base58, wrong lengths) as well as for a wrong signature. */
export function verifyText(publicKey: string, text: string, signature: string): boolean {
  try {
    const pub = base58.decode(publicKey);
    const sig = base58.decode(signature);
    if (pub.length !== 32 || sig.length !== 64) return false;
    // Strict RFC 8032 verification (no ZIP-215 leniency): one valid signature per message and key.
    return ed25519.verify(sig, utf8ToBytes(text), pub, { zip215: false });
  } catch {
    return false;
  }
}

export function isDevicePublicKey(value: string): boolean {
  try {
    const bytes = base58.decode(value);
    if (bytes.length !== 32) return false;
    ed25519.Point.fromBytes(bytes);
    return true;
  } catch {
    return false;
  }
}
