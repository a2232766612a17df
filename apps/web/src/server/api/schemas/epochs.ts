import { z } from "zod";
import { Amount, Timestamp } from "./common.ts";

export const EpochParams = z.object({
  epoch: z.coerce.number({ error: "must be an epoch number" }).int("must be a whole number").min(0, "must be 0 or more").max(2_147_483_647, "must be an epoch number").describe("Epoch number (hours since emission started)"),
});

export const EpochView = z
  .object({
    epoch: z.number().int().describe("Epoch number"),
    hourStart: Timestamp.describe("Start of the hour the epoch rewards"),
    emission: Amount.describe("MESH base units emitted for this hour by the schedule"),
    pool: Amount.describe("MESH base units shared among this epoch's contributors (what the epoch added to the cumulative total)"),
    cumulativeTotal: Amount.describe("Everything owed to all claimants after this epoch (the posted root's total)"),
    merkleRoot: z.string().nullable().describe("The reward root (hex) once computed"),
    status: z.string().describe("OPEN, COMPUTED or POSTED (on-chain)"),
    postedTxSignature: z.string().nullable().describe("The transaction that posted the root"),
    postedAt: Timestamp.nullable(),
  })
  .meta({ id: "RewardEpoch" });
