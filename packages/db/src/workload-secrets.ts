import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Workload, workloadIdentity, workloadView, type WorkloadView } from "@gpumesh/core";
import { z } from "zod";

/**
 * `cluster.workload` at rest: a renter's env values are encrypted with the server's key
 * (WORKLOAD_SECRETS_KEY, AES-256-GCM), so a database dump, a replica or a backup holds no API token.
 * The rest (image, command, ports, SSH public key, env *names*) stays readable: placement needs to know
 * a workload is there, and the cluster page shows the names. The web seals when it holds a quote; only
 * the scheduler opens, to seal the values again to each device (agent-protocol sealed-env.ts).
 *
 * The row id is the GCM associated data, with the names and what the workload runs (core
 * `workloadIdentity`): a sealed env copied into another cluster's row, names edited in place, or an
 * image or command swapped in the row, does not open. Rows written before sealing hold a plain core Workload
 * (env values in clear); they are read as they are and deploy as before (no migration rewrites them).
 */
const SealedAtRest = z
  .object({
    v: z.literal(1),
    /** The env names, sorted: readable without the key (they are shown; values never are). */
    names: z.array(z.string()),
    /** AES-GCM nonce (12 bytes), base64. */
    nonce: z.string(),
    /** The env as JSON, encrypted, then the 16-byte tag; base64. */
    ciphertext: z.string(),
  })
  .strict();

/** A sealed row: the workload without env, plus its sealed env. */
const SealedWorkload = Workload.omit({ env: true }).extend({ sealedEnv: SealedAtRest }).strict();

/** Either shape a `cluster.workload` may hold: sealed (from now on), or a plain Workload (older rows, or no env). */
const StoredWorkload = z.union([SealedWorkload, Workload]);
export type StoredWorkload = z.infer<typeof StoredWorkload>;

export const WORKLOAD_SECRETS_KEY_BYTES = 32;

/** Env values with no key to open or seal them: a configuration problem (WORKLOAD_SECRETS_KEY), never shown to renters. */
export class WorkloadSecretsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkloadSecretsError";
  }
}

const TAG_BYTES = 16;
const associated = (clusterId: string, names: readonly string[], runs: object) =>
  Buffer.from(`GPUMesh workload env v1\ncluster: ${clusterId}\nnames: ${names.join(",")}\nruns: ${workloadIdentity(runs)}`);

/** What the web writes to `cluster.workload`: env values sealed with `key`; a workload without env as it is. */
export function sealWorkloadAtRest(workload: Workload, clusterId: string, key: Uint8Array | undefined): StoredWorkload {
  const { env, ...rest } = workload;
  if (!env || Object.keys(env).length === 0) return rest;
  if (!key) throw new WorkloadSecretsError("WORKLOAD_SECRETS_KEY is not set: a workload's env values are never stored in plaintext");
  const names = Object.keys(env).sort();
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associated(clusterId, names, rest));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(env), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ...rest, sealedEnv: { v: 1, names, nonce: nonce.toString("base64"), ciphertext: ciphertext.toString("base64") } };
}

/** The scheduler's read: the workload with its env values, from either shape. Throws WorkloadSecretsError. */
export function openStoredWorkload(stored: unknown, clusterId: string, key: Uint8Array | undefined): Workload {
  const parsed = StoredWorkload.parse(stored);
  if (!("sealedEnv" in parsed)) return parsed;
  const { sealedEnv, ...rest } = parsed;
  if (!key) throw new WorkloadSecretsError(`cluster ${clusterId}: its workload's env is sealed at rest and WORKLOAD_SECRETS_KEY is not set`);
  let env: unknown;
  try {
    const data = Buffer.from(sealedEnv.ciphertext, "base64");
    if (data.length <= TAG_BYTES) throw new Error("too short");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealedEnv.nonce, "base64"), { authTagLength: TAG_BYTES });
    decipher.setAAD(associated(clusterId, sealedEnv.names, rest));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    env = JSON.parse(Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString("utf8"));
  } catch {
    throw new WorkloadSecretsError(`cluster ${clusterId}: its workload's env does not open with WORKLOAD_SECRETS_KEY (another key, or an altered row)`);
  }
  return Workload.parse({ ...rest, env });
}

/** What placement matches on: the workload without its env (values are not needed to place it); undefined when the row holds neither shape. */
export function storedWorkloadWithoutEnv(stored: unknown): Omit<Workload, "env"> | undefined {
  const parsed = StoredWorkload.safeParse(stored);
  if (!parsed.success) return undefined;
  const { env: _env, sealedEnv: _sealed, ...rest } = parsed.data as Workload & { sealedEnv?: unknown };
  return rest;
}

/** What may be shown of a stored workload (env names, never values), without the key. */
export function storedWorkloadView(stored: unknown): WorkloadView | null {
  if (stored === null || stored === undefined) return null;
  const parsed = StoredWorkload.parse(stored);
  if (!("sealedEnv" in parsed)) return workloadView(parsed);
  const { sealedEnv, ...rest } = parsed;
  return { ...workloadView(rest)!, envNames: sealedEnv.names };
}
