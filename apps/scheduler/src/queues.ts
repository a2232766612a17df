/**
 * Queue names and job ids. Job ids derive from domain ids so that enqueuing the same work twice (a
 * retry, a restarted scheduler, two scheduler processes) yields one job: BullMQ ignores a job whose id
 * already exists.
 */
export const QUEUES = {
  health: "health",
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const jobIds = {
  healthSweep: "health-sweep",
} as const;
