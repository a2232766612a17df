import { BN } from "./anchor.ts";
import { Keypair } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { findEvent, parseEvents } from "./events.ts";
import { GPUMESH_IDL } from "./idl.ts";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";
import { gpumeshCoder } from "./program.ts";

/** What `emit!` leaves in the logs: "Program data: base64(discriminator ++ borsh(event))". */
function programData(name: string, data: Record<string, unknown>): string {
  const discriminator = GPUMESH_IDL.events!.find((e) => e.name === name)!.discriminator;
  return `Program data: ${Buffer.concat([Buffer.from(discriminator), gpumeshCoder.types.encode(name, data)]).toString("base64")}`;
}

describe("event decoding", () => {
  const [lease, allocation, supplier] = [Keypair.generate().publicKey, Keypair.generate().publicKey, Keypair.generate().publicKey];
  const program = GPUMESH_PROGRAM_ID.toBase58();
  const logs = [
    `Program ${program} invoke [1]`,
    "Program log: Instruction: SettleAllocation",
    "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [2]",
    "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA success",
    programData("AllocationSettled", {
      lease,
      allocation,
      index: 2,
      supplier,
      from_ts: new BN(1_000),
      until_ts: new BN(1_600),
      gross: new BN(600_000),
      fee: new BN(15_000),
      burned: new BN(7_500),
      treasury: new BN(7_500),
      supplier_amount: new BN(585_000),
      total_gross: new BN(900_000),
      total_fee: new BN(22_500),
    }),
    programData("RewardRootPosted", { epoch: new BN(3), root: Array(32).fill(7), total_cumulative: new BN("18446744073709551615") }),
    `Program ${program} success`,
  ];

  it("decodes emit! events from logs into plain values (bigint, PublicKey, bytes)", () => {
    const events = parseEvents(logs);
    expect(events.map((e) => e.name)).toEqual(["AllocationSettled", "RewardRootPosted"]);
    const settled = findEvent(logs, "AllocationSettled")!;
    expect(settled.lease.equals(lease)).toBe(true);
    expect(settled.supplier.equals(supplier)).toBe(true);
    expect(settled).toMatchObject({ index: 2, fromTs: 1_000n, untilTs: 1_600n, gross: 600_000n, fee: 15_000n, burned: 7_500n, treasury: 7_500n, supplierAmount: 585_000n, totalGross: 900_000n });
    const root = findEvent(logs, "RewardRootPosted")!;
    expect(root.totalCumulative).toBe(2n ** 64n - 1n);
    expect(root.root).toEqual(new Uint8Array(32).fill(7));
  });

  it("decodes the stake events among the others (device id bytes, the slash reason, the evidence hash)", () => {
    const stake = Keypair.generate().publicKey;
    const withStake = [
      ...logs.slice(0, -1),
      programData("DeviceStakeSlashed", {
        device_stake: stake,
        device_id: Array(16).fill(1),
        authority: supplier,
        amount: new BN(5),
        remaining: new BN(10),
        slashed_total: new BN(5),
        reason: { FailedProof: {} },
        evidence_hash: Array(32).fill(9),
      }),
      programData("DeviceStaked", { device_stake: stake, device_id: Array(16).fill(1), authority: supplier, weight_bps: 10_000, amount: new BN(1), total: new BN(1), required: new BN(1), created: true }),
      logs.at(-1)!,
    ];
    const events = parseEvents(withStake);
    expect(events.map((e) => e.name)).toEqual(["AllocationSettled", "RewardRootPosted", "DeviceStakeSlashed", "DeviceStaked"]);
    expect(events[2]!.data).toMatchObject({ deviceStake: stake, deviceId: new Uint8Array(16).fill(1), amount: 5n, remaining: 10n, slashedTotal: 5n, reason: { FailedProof: {} }, evidenceHash: new Uint8Array(32).fill(9) });
    expect(events[3]!.data).toMatchObject({ weightBps: 10_000, total: 1n, created: true });
  });

  it("ignores other programs' data", () => {
    expect(parseEvents(logs, Keypair.generate().publicKey)).toEqual([]);
  });
});
