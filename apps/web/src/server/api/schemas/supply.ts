import { REGION_IDS } from "@gpumesh/core";
import { z } from "zod";

export const SUPPLIER_NETWORKS = ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"] as const;

/** What a supplier chooses when registering a device; the agent reports the hardware at join. */
export const RegisterDeviceBody = z.object({
  name: z.string().trim().min(1, "give the device a name").max(80, "at most 80 characters").regex(/^[\p{L}\p{N} ._\-#()]+$/u, "letters, digits, spaces and . _ - # ( ) only"),
  region: z.enum(REGION_IDS, { message: `one of ${REGION_IDS.join(", ")}` }),
  network: z.enum(SUPPLIER_NETWORKS, { message: `one of ${SUPPLIER_NETWORKS.join(", ")}` }).default("GPUMESH"),
});
export type RegisterDeviceBody = z.infer<typeof RegisterDeviceBody>;

export const DeviceParams = z.object({ deviceId: z.uuid("not a device id") });

/** A Solana address in a supply body (payout wallet). */
const PayoutWallet = z.string().min(32, "a Solana address").max(44, "a Solana address").describe("The wallet lease payouts go to (base58)");
/** A wallet-signed supply transaction (base64). */
const SignedSupplyTransaction = z.string().min(1, "the signed transaction (base64)").max(4_096).describe("The wallet-signed transaction (base64)");
export const PayoutWalletBody = z.object({ payoutWallet: PayoutWallet });
export const PayoutWalletPayBody = z.object({ payoutWallet: PayoutWallet, transaction: SignedSupplyTransaction });
export const RegistrationPayBody = z.object({ transaction: SignedSupplyTransaction });
/** A wallet-signed stake, unstake or withdrawal of a device's stake. */
export const StakePayBody = z.object({ transaction: SignedSupplyTransaction });

// -- responses (JSON as sent: bigints are decimal strings, times ISO strings) ------------------------------

const Amount = z.string().regex(/^-?\d+$/).describe("Token amount in base units, as a decimal string");
const Timestamp = z.iso.datetime().describe("ISO 8601 time, UTC");

export const SupplyOverviewResponse = z
  .object({
    devices: z.array(
      z.object({
        id: z.uuid(),
        name: z.string(),
        status: z.string(),
        gpuModelId: z.string().nullable(),
        gpuCount: z.number().int(),
        region: z.string(),
        lastHeartbeatAt: Timestamp.nullable(),
        verificationScoreBps: z.number().int(),
        verifiedAt: Timestamp.nullable(),
        lastCheck: z.object({ status: z.string(), failureReason: z.string().nullable(), at: Timestamp }).nullable(),
        lease: z.object({ clusterId: z.uuid(), endsAt: Timestamp }).nullable(),
        pricePerGpuHour: Amount,
        removed: z.boolean().describe("The agent's key was removed: it can no longer connect"),
        pausedAt: Timestamp.nullable().describe("Paused by you since then: it takes no new leases; null when it does"),
      }),
    ),
    pendingTokens: z.array(z.object({ name: z.string(), region: z.string(), expiresAt: Timestamp })),
  })
  .meta({ id: "SupplyOverview" });

export const RegisteredDeviceResponse = z.object({
  token: z.string().describe("One-time join token (valid one hour)"),
  expiresAt: Timestamp,
  commands: z.object({ join: z.string(), start: z.string() }).describe("What to run on the machine"),
});

export const SupplierDeviceDetailResponse = z
  .object({
    device: z.looseObject({ id: z.uuid(), name: z.string(), status: z.string(), gpuModelId: z.string().nullable(), gpuCount: z.number().int(), region: z.string(), pricePerGpuHour: Amount, removed: z.boolean(), pausedAt: Timestamp.nullable() }),
    lease: z.object({ clusterId: z.uuid(), startsAt: Timestamp, endsAt: Timestamp, ratePerSecond: Amount.nullable() }).nullable(),
    evidence: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        matrixSize: z.number().int(),
        seed: z.string(),
        root: z.string().nullable(),
        rowsOpened: z.array(z.number().int()),
        elapsedMs: z.number().nullable(),
        status: z.string(),
        failureReason: z.string().nullable(),
        issuedAt: Timestamp,
        respondedAt: Timestamp.nullable(),
      }),
    ),
    earnings: z.array(z.object({ day: z.string(), leaseGross: Amount, rewards: Amount })),
    totals: z.object({ leaseGross: Amount, rewards: Amount }),
    stake: z.object({ weightBps: z.number().int(), required: Amount, staked: Amount.nullable(), active: z.boolean(), withdrawableAt: Timestamp.nullable(), slashed: Amount, readable: z.boolean() }),
  })
  .meta({ id: "SupplierDevice" });

export const RegistrationStateResponse = z
  .object({
    registered: z.boolean(),
    onChainAddress: z.string().nullable(),
    payoutWallet: z.string().nullable().optional().describe("Where lease payouts go (read from the on-chain record)"),
    promoted: z.number().int().optional().describe("Devices that became rentable with this registration"),
  })
  .meta({ id: "SupplierRegistration" });
export const RegistrationOrderResponse = z.union([z.object({ transaction: z.string().describe("The unsigned register_supplier (base64)") }), RegistrationStateResponse]);
export const PayoutWalletOrderResponse = z.object({ transaction: z.string().describe("The unsigned set_payout_wallet (base64)") });
export const RemovedDeviceResponse = z.object({ removed: z.literal(true) });

export const DevicePauseResponse = z
  .object({
    pausedAt: Timestamp.nullable().describe("When the current pause began; null: the device takes new leases"),
    servingUntil: Timestamp.nullable().describe("The end of the lease (or held quote) it keeps serving while paused, if any"),
  })
  .meta({ id: "DevicePause" });

export const StakeOrderResponse = z
  .object({
    transaction: z.string().describe("stake_device (base64), already co-signed by the network's settlement authority (its attestation of the device's weight); your wallet signs it and you submit it to …/stake"),
    amount: Amount.describe("MESH base units this transaction stakes: the required stake, or the top-up back to it after a slash"),
    required: Amount.describe("The device's required stake: GPUs × the model's performance weight (bps) × 100,000 base units"),
    weightBps: z.number().int().describe("The device's weight the stake is sized by (GPUs × performance weight, bps)"),
  })
  .meta({ id: "StakeOrder" });
export const StakeTransactionResponse = z.object({ transaction: z.string().describe("The unsigned transaction (base64) for your wallet to sign") }).meta({ id: "StakeTransaction" });
export const StakeResultResponse = z
  .object({
    txSignature: z.string(),
    staked: Amount.describe("What the device's stake holds after the transaction (0 after a withdrawal)"),
    withdrawableAt: Timestamp.nullable().describe("After an unstake request: when the stake can be withdrawn (7 days later)"),
  })
  .meta({ id: "StakeResult" });
