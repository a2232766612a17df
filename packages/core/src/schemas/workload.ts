import { z } from "zod";

/**
 * What a cluster runs on each of its nodes: the renter's container image, its command, environment,
 * the ports it serves and an SSH key. The supplier's agent runs it (apps/agent runtimes) with the
 * GPUs it leased; the agent sets PORT and GPUMESH_* itself, so a workload cannot override them.
 *
 * Nothing here is secret from the supplier: the host that runs a container can read its environment.
 * The API never returns env values (only names), so a key is not shown again on a shared screen.
 */

/** `[registry[:port]/]path[:tag][@sha256:digest]`, lower-case path components (the OCI reference grammar, simplified). */
const IMAGE_REFERENCE = /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
/** An OpenSSH public key line: type, base64 body, optional comment. */
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the agent on every node (apps/agent runtimes): a workload's own value would be ignored or lie. */
export const RESERVED_ENV = (name: string) => name === "PORT" || name.startsWith("GPUMESH_");

export const MAX_WORKLOAD_ENV = 64;

export const Workload = z
  .object({
    /**
     * Required for every cluster type but BARE_METAL (core NewClusterRequest), whose nodes run the
     * supplier's machine image (an SSH server) unless the renter brings one.
     */
    image: z.string().trim().min(1, "must name a container image").max(255, "must be at most 255 characters").regex(IMAGE_REFERENCE, "must be an image reference such as ghcr.io/org/app:1.2 or pytorch/pytorch:latest").optional(),
    /** argv, not a shell line (no shell runs unless the renter asks for one: ["sh", "-c", "…"]). */
    command: z.array(z.string().max(4_096, "each argument must be at most 4,096 characters")).min(1, "must have at least the program").max(64, "must have at most 64 arguments").optional(),
    env: z
      .record(z.string(), z.string().max(8_192, "values must be at most 8,192 characters"))
      // Names are checked here rather than by a key schema, so each refusal names its variable.
      .superRefine((env, context) => {
        const names = Object.keys(env);
        if (names.length > MAX_WORKLOAD_ENV) context.addIssue({ code: "custom", message: `must have at most ${MAX_WORKLOAD_ENV} variables` });
        for (const name of names) {
          if (!ENV_NAME.test(name)) context.addIssue({ code: "custom", path: [name], message: "names must be letters, digits and _ and not start with a digit" });
          else if (RESERVED_ENV(name)) context.addIssue({ code: "custom", path: [name], message: "PORT and GPUMESH_* are set by GPUMesh" });
        }
      })
      .optional(),
    /** Ports the workload serves inside the container; each is published on the node and shown to the renter. */
    ports: z.array(z.number().int("must be whole numbers").min(1, "must be 1–65535").max(65_535, "must be 1–65535")).max(8, "must have at most 8 ports").refine((ports) => new Set(ports).size === ports.length, "must not repeat a port").optional(),
    sshPublicKey: z.string().trim().max(4_096, "must be at most 4,096 characters").regex(SSH_PUBLIC_KEY, "must be one OpenSSH public key line (ssh-ed25519 AAAA… you@host)").optional(),
  })
  .strict();
export type Workload = z.infer<typeof Workload>;

/** What may be shown of a workload after it was submitted: everything but the env values. */
export function workloadView(workload: Workload | null | undefined) {
  if (!workload) return null;
  return { image: workload.image ?? null, command: workload.command ?? null, envNames: Object.keys(workload.env ?? {}).sort(), ports: workload.ports ?? [], sshPublicKey: workload.sshPublicKey ?? null };
}
export type WorkloadView = NonNullable<ReturnType<typeof workloadView>>;

/**
 * What a workload runs (everything but its env, and never a sealed env) as one canonical text. Sealed env
 * values are bound to it as associated data, at rest and on the wire: whoever can write a row, an outbox
 * or a relayed frame cannot keep the renter's sealed secrets and swap the image or command they go to.
 */
export function workloadIdentity(workload: object): string {
  const fields = Object.entries(workload)
    .filter(([name, value]) => name !== "env" && name !== "sealedEnv" && value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(fields);
}
