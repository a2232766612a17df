import { randomBytes } from "node:crypto";
import { signText, verifyText, type DeviceKey } from "./keys.ts";

/**
 * Connection authentication. The gateway sends a fresh random nonce per connection; the agent signs
 * this text with its device key. The audience names the network (GATEWAY_AUDIENCE), so a signature
 * for another network's gateway is useless here; the nonce is single-use (one per connection, never
 * stored), so a captured `auth` frame cannot be replayed on a new connection.
 */
export function authText(audience: string, nonce: string, publicKey: string): string {
  return `GPUMesh agent authentication\naudience: ${audience}\nnonce: ${nonce}\ndevice key: ${publicKey}`;
}

export function newNonce(): string {
  return randomBytes(32).toString("hex");
}

export function signAuth(key: DeviceKey, audience: string, nonce: string): string {
  return signText(key, authText(audience, nonce, key.publicKey));
}

export function verifyAuth(publicKey: string, audience: string, nonce: string, signature: string): boolean {
  return verifyText(publicKey, authText(audience, nonce, publicKey), signature);
}
