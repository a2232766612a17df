import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { Workload, workloadIdentity } from "@gpumesh/core";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { z } from "zod";
import type { DeviceKey } from "./keys.ts";
import type { AgentAssignment, AssignedWorkload, OpenedAssignment } from "./messages.ts";

/**
 * A workload's env values (API tokens, WANDB keys…) sealed to the one device that runs them, so that
 * the outbox in Redis and every gateway relaying the assignment carry ciphertext only; the agent opens
 * it with its device key just before the runtime starts the lease.
 *
 * Construction (v1):
 * - the recipient is the device's ed25519 agent key (`device.agent_public_key`, the key it
 *   authenticates with), mapped to X25519 (RFC 7748's birational map: ed25519.utils.toMontgomery, and
 *   toMontgomerySecret on the agent's side), so a device has one key and nothing new to enrol;
 * - a fresh X25519 key per message (ephemeral–static ECDH): the scheduler keeps no key of its own, and
 *   the shared secret differs for every assignment;
 * - HKDF-SHA256 over the shared secret, salted with both public keys, its info naming the device and
 *   the allocation: a seal opens only as the assignment it was made for (a relay that swaps the ids
 *   makes the open fail instead of running one lease's secrets in another);
 * - AES-256-GCM from node:crypto (OpenSSL's constant-time AES-GCM, in both the scheduler and the agent
 *   already: no new dependency). The key is used once, so a random 96-bit nonce cannot repeat under it.
 *   Its associated data is what the workload runs (core `workloadIdentity`: image, command, ports, SSH
 *   key): a relay that keeps the seal but swaps the image makes the open fail, instead of handing the
 *   renter's tokens to another program.
 */
export const SEALED_ENV_VERSION = 1;

const base64url = (bytes: number) => z.string().length(Math.ceil((bytes * 4) / 3)).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

export const SealedEnv = z
  .object({
    v: z.literal(SEALED_ENV_VERSION),
    /** The sender's one-time X25519 public key (32 bytes, base64url). */
    epk: base64url(32),
    /** The AES-GCM nonce (12 bytes, base64url). */
    nonce: base64url(12),
    /** The env as JSON, encrypted, followed by the 16-byte GCM tag (base64url). */
    ciphertext: z.string().min(1).max(4 * 1024 * 1024).regex(/^[A-Za-z0-9_-]+$/, "must be base64url"),
  })
  .strict();
export type SealedEnv = z.infer<typeof SealedEnv>;

/** Whom a seal is for: the device's agent key (base58), and the assignment it travels in. */
export interface SealedEnvBinding {
  deviceId: string;
  allocationId: string;
}

/** A seal that does not open with this device's key as this assignment (wrong device, altered, swapped ids). */
export class SealedEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedEnvError";
  }
}

const TAG_BYTES = 16;

function derive(shared: Uint8Array, epk: Uint8Array, recipient: Uint8Array, binding: SealedEnvBinding): Buffer {
  const info = `GPUMesh sealed env v${SEALED_ENV_VERSION}\ndevice: ${binding.deviceId}\nallocation: ${binding.allocationId}`;
  return Buffer.from(hkdfSync("sha256", shared, Buffer.concat([epk, recipient]), info, 32));
}

/** Seals `env` to the device whose agent key is `devicePublicKey` (base58 ed25519), for this assignment only. */
export function sealEnv(env: Record<string, string>, devicePublicKey: string, binding: SealedEnvBinding, associated = ""): SealedEnv {
  const recipient = ed25519.utils.toMontgomery(base58.decode(devicePublicKey));
  const ephemeral = x25519.utils.randomSecretKey();
  const epk = x25519.getPublicKey(ephemeral);
  const key = derive(x25519.getSharedSecret(ephemeral, recipient), epk, recipient, binding);
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associated, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(env), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { v: SEALED_ENV_VERSION, epk: Buffer.from(epk).toString("base64url"), nonce: nonce.toString("base64url"), ciphertext: ciphertext.toString("base64url") };
}

/** Opens a seal with the device's own key, as the assignment it arrived in. Throws SealedEnvError. */
export function openEnv(sealed: SealedEnv, deviceKey: DeviceKey, binding: SealedEnvBinding, associated = ""): Record<string, string> {
  let plaintext: string;
  try {
    const epk = Buffer.from(sealed.epk, "base64url");
    const recipient = ed25519.utils.toMontgomery(base58.decode(deviceKey.publicKey));
    const key = derive(x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(deviceKey.secretKey), epk), epk, recipient, binding);
    const data = Buffer.from(sealed.ciphertext, "base64url");
    if (data.length < TAG_BYTES) throw new Error("too short");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.nonce, "base64url"), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associated, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    // One message for every cause: which step failed tells an attacker nothing useful, and the
    // supplier only needs to know that this assignment's secrets were not for this device.
    throw new SealedEnvError(`the workload's env was not sealed to this device's key for allocation ${binding.allocationId} (or was altered on the way)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext);
  } catch {
    parsed = undefined;
  }
  const env = Workload.shape.env.safeParse(parsed);
  if (!env.success || !env.data) throw new SealedEnvError("the workload's sealed env opened to something that is not an env");
  return env.data;
}

/**
 * The scheduler's side: the workload as it goes on the wire, its env values sealed to the device whose
 * agent key is `devicePublicKey` (needed only when there are values to seal).
 */
export function sealWorkload(workload: Workload, devicePublicKey: string | undefined, binding: SealedEnvBinding): AssignedWorkload {
  const { env, ...rest } = workload;
  if (!env || Object.keys(env).length === 0) return rest;
  if (!devicePublicKey) throw new Error(`device ${binding.deviceId} has no agent key to seal the workload's env to`);
  return { ...rest, sealedEnv: sealEnv(env, devicePublicKey, binding, workloadIdentity(rest)) };
}

/** The agent's side: the assignment as its runtime runs it, its env opened. Throws SealedEnvError. */
export function openAssignment(assignment: AgentAssignment, deviceKey: DeviceKey | undefined): OpenedAssignment {
  const { workload: assigned, ...rest } = assignment;
  if (!assigned) return rest;
  const { sealedEnv, ...workload } = assigned;
  if (!sealedEnv) return { ...rest, workload };
  if (!deviceKey) throw new SealedEnvError("this agent was started without its device key, so it cannot open the workload's sealed env");
  return { ...rest, workload: { ...workload, env: openEnv(sealedEnv, deviceKey, assignment, workloadIdentity(workload)) } };
}
