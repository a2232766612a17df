import { GemmChallenge, GemmCommitment, GemmOpening, GemmRowRequest, Workload } from "@gpumesh/core";
import { z } from "zod";
import { SealedEnv } from "./sealed-env.ts";

/**
 * The agent ↔ gateway wire format: JSON text frames over one WebSocket per device. The gateway opens
 * with `hello` (a fresh nonce); the agent answers `auth` (its public key and a signature over the
 * nonce, auth.ts); from `welcome` on, the connection is that device's and nothing in a message can
 * name another one. Every agent message after `auth` carries `seq`, strictly increasing on the
 * connection: a replayed or reordered frame is refused. Times the agent sends (`sentAt`) are only
 * reported back for clock-skew checks; the gateway stamps everything it records with its own clock.
 */
export const PROTOCOL_VERSION = 1;
/** The agent's heartbeat period; the scheduler marks a device offline after DEVICE_OFFLINE_AFTER_S (90 s). */
export const HEARTBEAT_EVERY_S = 15;
/** Largest frame either side accepts (an opening of 8 rows at n = 8192 is ~0.7 MB of JSON). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const Uuid = z.uuid();
const Iso = z.iso.datetime({ offset: true });
const Seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Ray's GCS port inside the head's container or process (Ray's default `ray start --head --port`). */
export const RAY_GCS_PORT = 6379;
/** Ray's dashboard port on the head (also where Ray's Jobs API answers). */
export const RAY_DASHBOARD_PORT = 8265;

/**
 * `host:port` a Ray worker passes to `ray start --address`: a host name, IPv4 or bracketed IPv6 literal,
 * and a port. Nothing that a shell or a URL would read as more than an address.
 */
export const RayAddress = z
  .string()
  .max(300)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port");

/**
 * A RAY cluster's node role (packages/db ray-roles.ts): the head starts Ray's GCS and dashboard; a
 * worker joins the head `headAllocationId` once that head's address has reached it (`ray-head`).
 */
export const RayRole = z.discriminatedUnion("role", [z.object({ role: z.literal("head") }), z.object({ role: z.literal("worker"), headAllocationId: Uuid })]);
export type RayRole = z.infer<typeof RayRole>;

/**
 * A workload as it travels to the agent: the renter's core Workload with its env values replaced by
 * `sealedEnv`, sealed to the target device's key for this one allocation (sealed-env.ts). Strict: a
 * plaintext `env` is refused here, so none can enter an outbox or cross a gateway; an agent from before
 * sealing refuses the whole frame (strict core Workload) and the scheduler replaces it after the ack
 * deadline, rather than that agent running the workload without its env.
 */
export const AssignedWorkload = Workload.omit({ env: true })
  .extend({ sealedEnv: SealedEnv.optional() })
  .strict();
export type AssignedWorkload = z.infer<typeof AssignedWorkload>;

export const AgentAssignment = z.object({
  /** The allocation id doubles as the assignment id: agents dedupe on it, so re-sending is safe. */
  allocationId: Uuid,
  clusterId: Uuid,
  deviceId: Uuid,
  clusterType: z.string().max(32),
  gpuCount: z.number().int().min(0).max(1_024),
  startsAt: Iso,
  endsAt: Iso,
  /** The renter's image, command, sealed env, ports and SSH key; absent: the agent's default for the type. */
  workload: AssignedWorkload.optional(),
  /** RAY clusters: this node's role. Absent for other types (and ignored by agents from before it). */
  ray: RayRole.optional(),
});
export type AgentAssignment = z.infer<typeof AgentAssignment>;
/** An assignment as the agent's runtime runs it: its sealed env opened back into `workload.env` (openAssignment). */
export type OpenedAssignment = Omit<AgentAssignment, "workload"> & { workload?: Workload };

/**
 * `ray-head` is internal: the `host:port` of a Ray head's GCS that its workers join. The gateway accepts
 * it only from the cluster's head and forwards it to the workers (`ray-head` message); the renter's
 * page shows the head's dashboard, not this.
 */
export const ENDPOINT_KINDS = ["ray-dashboard", "jupyter", "ssh", "kubeconfig", "url", "ray-head"] as const;

// ── gateway → agent ───────────────────────────────────────────────────────────────────────────────
export const Hello = z.object({ type: z.literal("hello"), protocol: z.number().int(), audience: z.string(), nonce: z.string(), serverTime: Iso });
export const Welcome = z.object({ type: z.literal("welcome"), deviceId: Uuid, serverTime: Iso, heartbeatEveryS: z.number().int().positive() });
export const GATEWAY_ERROR_CODES = [
  "BAD_MESSAGE",
  "AUTH_REQUIRED",
  "AUTH_FAILED",
  "UNKNOWN_DEVICE",
  "DEVICE_REMOVED",
  "REPLAYED",
  "NOT_YOURS",
  "REPLACED",
  "SHUTTING_DOWN",
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];
export const GatewayError = z.object({ type: z.literal("error"), code: z.enum(GATEWAY_ERROR_CODES), message: z.string(), seq: Seq.optional() });
export const Assign = z.object({ type: z.literal("assign"), assignment: AgentAssignment });
export const Revoke = z.object({ type: z.literal("revoke"), allocationId: Uuid, reason: z.string().max(200) });
export const ChallengeMessage = z.object({ type: z.literal("challenge"), challenge: GemmChallenge });
export const RowsMessage = z.object({ type: z.literal("rows"), request: GemmRowRequest });
export const HeartbeatAck = z.object({ type: z.literal("heartbeat-ack"), seq: Seq, serverTime: Iso });
/**
 * Where the Ray head of a worker's cluster is (the head's `ray-head` endpoint): for the worker
 * allocation `allocationId`. Kept in the worker's outbox while the allocation lives and sent again on
 * every reconnect; a newer head (the old one was replaced) overwrites it. Idempotent: an agent acts
 * only on an address it has not used yet. Agents from before it drop it as an unknown frame.
 */
export const RayHeadMessage = z.object({ type: z.literal("ray-head"), allocationId: Uuid, headAllocationId: Uuid, address: RayAddress });

export const GatewayMessage = z.discriminatedUnion("type", [Hello, Welcome, GatewayError, Assign, Revoke, ChallengeMessage, RowsMessage, HeartbeatAck, RayHeadMessage]);
export type GatewayMessage = z.infer<typeof GatewayMessage>;
/** What the gateway keeps in a device's outbox until the agent answers it (outbox.ts). */
export type OutboxMessage = z.infer<typeof Assign> | z.infer<typeof Revoke> | z.infer<typeof ChallengeMessage> | z.infer<typeof RowsMessage> | z.infer<typeof RayHeadMessage>;

// ── agent → gateway ───────────────────────────────────────────────────────────────────────────────
export const Auth = z.object({
  type: z.literal("auth"),
  publicKey: z.string().min(32).max(44),
  signature: z.string().min(64).max(88),
  agentVersion: z.string().max(32),
  /**
   * The agent's runtime runs renters' container images (Docker: true; the process runtime refuses any
   * assignment with a workload: false). Recorded on the device at every connection; placement gives
   * clusters with a workload only devices that said true. Absent (an agent from before this field): false.
   */
  runsImages: z.boolean().optional(),
});
export const Heartbeat = z.object({
  type: z.literal("heartbeat"),
  seq: Seq,
  /** The agent's clock, echoed for its own skew check; never recorded. */
  sentAt: Iso,
  /** Allocations the agent is serving now. */
  running: z.array(Uuid).max(64),
});
export const Ack = z.object({ type: z.literal("ack"), seq: Seq, allocationId: Uuid, accepted: z.boolean(), reason: z.string().max(200).optional() });
export const Revoked = z.object({ type: z.literal("revoked"), seq: Seq, allocationId: Uuid });
export const CommitmentMessage = z.object({ type: z.literal("commitment"), seq: Seq, commitment: GemmCommitment });
export const OpeningMessage = z.object({ type: z.literal("opening"), seq: Seq, opening: GemmOpening });
export const Endpoint = z.object({ type: z.literal("endpoint"), seq: Seq, allocationId: Uuid, kind: z.enum(ENDPOINT_KINDS), url: z.string().min(1).max(500) });
export const Log = z.object({ type: z.literal("log"), seq: Seq, allocationId: Uuid, lines: z.array(z.string().max(2_000)).min(1).max(200) });
export const Drain = z.object({ type: z.literal("drain"), seq: Seq, reason: z.string().max(200) });

export const AgentMessage = z.discriminatedUnion("type", [Auth, Heartbeat, Ack, Revoked, CommitmentMessage, OpeningMessage, Endpoint, Log, Drain]);
export type AgentMessage = z.infer<typeof AgentMessage>;
export type AgentMessageOf<T extends AgentMessage["type"]> = Extract<AgentMessage, { type: T }>;
export type GatewayMessageOf<T extends GatewayMessage["type"]> = Extract<GatewayMessage, { type: T }>;

/** Parses one frame; `undefined` for anything that is not a well-formed message of that side. */
export function parseFrame<T>(schema: z.ZodType<T>, data: unknown): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(typeof data === "string" ? data : String(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

// ── join (HTTP, before the device has a connection) ───────────────────────────────────────────────
export const HardwareReportSchema = z.object({
  cpuModel: z.string().min(1).max(80),
  cpuCores: z.number().int().min(1).max(4_096),
  ramGb: z.number().int().min(1, "must be at least 1 GB (was it detected?)").max(65_536),
  diskGb: z.number().int().min(1, "must be at least 1 GB (was it detected?)").max(10_000_000),
  os: z.string().max(80),
  gpus: z.array(z.object({ name: z.string().max(80), vramMb: z.number().int().min(0).max(1_048_576), gpuModelId: z.string().max(32).nullable() })).max(64),
  bandwidthUpMbps: z.number().int().min(0).max(1_000_000).optional(),
  bandwidthDownMbps: z.number().int().min(0).max(1_000_000).optional(),
});
export const JoinRequest = z.object({
  token: z.string().min(16).max(128),
  publicKey: z.string().min(32).max(44),
  hardware: HardwareReportSchema,
  agentVersion: z.string().max(32),
});
export type JoinRequest = z.infer<typeof JoinRequest>;
export const JoinResponse = z.object({
  deviceId: Uuid,
  name: z.string(),
  region: z.string(),
  gpuModelId: z.string().nullable(),
  gpuCount: z.number().int(),
  /** The network's audience: the agent signs only nonces of gateways of this network from then on. */
  audience: z.string(),
});
export type JoinResponse = z.infer<typeof JoinResponse>;
