export { QUEUES, basicIso, jobIds, type EndCause, type QueueName } from "./names.ts";
export {
  CAPPED_BACKOFF,
  CHAIN_QUEUES,
  DEFAULT_CHAIN_RETRY,
  DEFAULT_JOB_OPTIONS,
  DEFAULT_QUEUE_PREFIX,
  cappedExponentialBackoff,
  chainJobOptions,
  jobOptionsOf,
  type ChainRetry,
} from "./options.ts";
export * from "./payloads.ts";
export { jobs, type JobSpec, type TypedJobSpec } from "./jobs.ts";
export { enqueueJob, enqueueManyOnce, enqueueOnce, type EnqueueOutcome } from "./enqueue.ts";
export { createProducer, QueueUnavailableError, type Producer, type ProducerOptions } from "./producer.ts";
export { createRequester, REQUEST_JOB_OPTIONS, RequestTimeoutError, StakeOrderAnswer, StakeOrderRequest, type Requester } from "./requests.ts";
