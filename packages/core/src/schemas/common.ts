import { z } from "zod";
import { GPU_MODEL_IDS } from "../catalogue/gpu-models.ts";
import { REGION_IDS } from "../catalogue/regions.ts";

/** A base58 Solana public key (32 bytes → 32–44 chars). */
export const SolanaAddress = z
  .string()
  .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "must be a base58 Solana address");

export const GpuModelId = z.enum(GPU_MODEL_IDS, { error: (issue) => `unknown GPU model "${String(issue.input)}"` });
export const RegionId = z.enum(REGION_IDS, { error: (issue) => `unknown region "${String(issue.input)}"` });

/**
 * Token amounts in base units. Accepted as a bigint, a safe integer, or a decimal string of digits
 * (JSON cannot carry u64 values exactly as numbers); always parsed to `bigint`.
 */
export const BaseUnits = z
  .union([z.bigint(), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/, "must be an integer amount in base units")])
  .transform((value) => BigInt(value))
  .refine((value) => value >= 0n && value <= 18_446_744_073_709_551_615n, "must fit in a u64");
