import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { QueueName } from "./names.ts";
import { StakeOrderRequest } from "./requests.ts";

/**
 * The payload of every job, per queue and job name, as zod schemas: producers build payloads that
 * satisfy them (`jobs.ts`), and each worker parses its job at the top (`parseJob`), so a job written
 * by another version of a producer fails loudly instead of being half understood. Instants travel as
 * ISO 8601 strings (BullMQ stores JSON).
 */

/** Domain ids are Postgres uuids; `guid` accepts any 8-4-4-4-12 hex form (test fixtures use non-v4 ones). */
const Id = z.guid();
const Instant = z.iso.datetime();
/** Job schedulers' repeating jobs carry no payload (or a placeholder): nothing is read from it. */
const Sweep = z.unknown();

export const ClusterPayload = z.object({ clusterId: Id });
export type ClusterPayload = z.infer<typeof ClusterPayload>;

/** An agent's answer to an assignment, stamped when it arrived. */
export const AgentResponsePayload = z.object({
  allocationId: Id,
  clusterId: Id,
  deviceId: Id,
  accepted: z.boolean(),
  reason: z.string().optional(),
  /** When the agent answered. */
  at: Instant,
});
export type AgentResponsePayload = z.infer<typeof AgentResponsePayload>;

export const NodeLostPayload = z.object({ clusterId: Id, allocationId: Id, reason: z.string() });
export type NodeLostPayload = z.infer<typeof NodeLostPayload>;

export const SettlePeriodPayload = z.object({ clusterId: Id, periodStart: Instant });
export type SettlePeriodPayload = z.infer<typeof SettlePeriodPayload>;

/**
 * An end other than the paid end. With `requestedAt` it is the renter's terminate (`end/<c>/request`):
 * before RUNNING it cancels and refunds in full, from RUNNING it ends the lease at that instant (the
 * first request's). Without, it ends the lease now (degraded) or finishes an interrupted end (sweep).
 */
export const EndPayload = z.object({ clusterId: Id, reason: z.string().min(1), requestedAt: Instant.optional() });
export type EndPayload = z.infer<typeof EndPayload>;

/**
 * The paid end of a lease at `endsAt` (`end/<c>/expiry/<endsAt>`). When it runs and the lease's end has
 * moved later (an extension), it schedules the expiry of the new end and ends nothing.
 */
export const ExpiryPayload = z.object({ clusterId: Id, endsAt: Instant });
export type ExpiryPayload = z.infer<typeof ExpiryPayload>;

export const ChallengePayload = z.object({ challengeId: Id });
export type ChallengePayload = z.infer<typeof ChallengePayload>;

/** A verification answer as the agent sent it (the verify job parses it), stamped on arrival. */
export const AnswerPayload = z.object({ answer: z.unknown(), receivedAt: Instant });
export type AnswerPayload = z.infer<typeof AnswerPayload>;

/** A device_outage row (bigserial id, as decimal text: JSON has no 64-bit integers). */
export const OutagePayload = z.object({ outageId: z.string().regex(/^[1-9][0-9]{0,18}$/, "must be a device_outage id") });
export type OutagePayload = z.infer<typeof OutagePayload>;

export const EpochPayload = z.object({ epoch: z.number().int().positive() });
export type EpochPayload = z.infer<typeof EpochPayload>;

/** Every job name of every queue and its payload. */
export const payloads = {
  health: { sweep: Sweep },
  deploy: {
    /** The first step of a paid cluster's deployment. */
    deploy: ClusterPayload,
    "ack-deadline": ClusterPayload,
    nudge: ClusterPayload,
    "agent-response": AgentResponsePayload,
    "node-lost": NodeLostPayload,
    sweep: Sweep,
  },
  settle: {
    sweep: Sweep,
    period: SettlePeriodPayload,
    end: EndPayload,
    expiry: ExpiryPayload,
    reconcile: ClusterPayload,
    cancel: ClusterPayload,
    "lease-sync": ClusterPayload,
    /** Proven cheating (a failed challenge with wrong-result or proof-invalid evidence): slash_stake once. */
    slash: ChallengePayload,
    /** A device that vanished mid-lease beyond VANISH_GRACE_S: slash_stake (VanishedMidLease) once per outage. */
    "slash-vanished": OutagePayload,
  },
  verify: {
    sweep: Sweep,
    deliver: ChallengePayload,
    expire: ChallengePayload,
    commitment: AnswerPayload,
    opening: AnswerPayload,
  },
  index: { pass: Sweep },
  rewards: { sweep: Sweep, epoch: EpochPayload },
  explorer: { rollup: Sweep },
  requests: { "stake-order": StakeOrderRequest },
} as const satisfies Record<QueueName, Record<string, z.ZodType>>;

export type JobName<Q extends QueueName> = keyof (typeof payloads)[Q] & string;
export type PayloadOf<Q extends QueueName, N extends JobName<Q>> = z.infer<(typeof payloads)[Q][N]>;
/** A parsed job of queue `Q`: a union discriminated by `name`. */
export type ParsedJob<Q extends QueueName> = { [N in JobName<Q>]: { name: N; data: PayloadOf<Q, N> } }[JobName<Q>];

/**
 * A job of `queue` checked against its schema. An unknown name or a payload that does not parse fails
 * the job for good (`UnrecoverableError`: retrying cannot fix it), with the reason.
 */
export function parseJob<Q extends QueueName>(queue: Q, name: string, data: unknown): ParsedJob<Q> {
  const schemas = payloads[queue] as Record<string, z.ZodType>;
  const schema = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
  if (!schema) throw new UnrecoverableError(`unknown ${queue} job ${name}`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`${queue} job ${name}: malformed payload: ${z.prettifyError(parsed.error)}`);
  return { name, data: parsed.data } as ParsedJob<Q>;
}
