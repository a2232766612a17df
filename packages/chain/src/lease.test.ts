import { Keypair, PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { OPEN_UNTIL, planLeaseSync, type AllocationAccount, type DesiredLease, type LeaseAccount } from "./lease.ts";

const mint = Keypair.generate().publicKey;
const [supplierA, supplierB, supplierC] = [1, 2, 3].map((n) => new PublicKey(new Uint8Array(32).fill(n))) as [PublicKey, PublicKey, PublicKey];

function lease(overrides: Partial<LeaseAccount> = {}): LeaseAccount {
  return {
    address: Keypair.generate().publicKey, leaseId: 1n, renter: Keypair.generate().publicKey, mint, pricePerSecond: 100n, maxSeconds: 7_200n, deposited: 720_000n,
    status: "active", openedAt: 900n, activationDeadline: 4_500n, startTs: 1_000n, endTs: 8_200n, feeBps: 250, burnBps: 5_000, isMesh: false, openRate: 0n,
    lastChangeTs: 1_000n, allocationCount: 0, owedTotal: 0n, totalGross: 0n, totalSupplier: 0n, totalTreasury: 0n, totalBurned: 0n, refunded: 0n,
    ...overrides,
  };
}

function allocation(index: number, supplier: PublicKey, overrides: Partial<AllocationAccount> = {}): AllocationAccount {
  return {
    address: Keypair.generate().publicKey, index, supplier, ratePerSecond: 50n, fromTs: 1_000n, untilTs: OPEN_UNTIL, settledUntil: 1_000n,
    totalGross: 0n, totalFee: 0n, totalBurned: 0n, totalSupplier: 0n, totalTreasury: 0n, ...overrides,
  };
}

const want = (index: number, supplier: PublicKey, overrides: Partial<DesiredLease["allocations"][number]> = {}) => ({
  index, supplier, ratePerSecond: 50n, fromTs: 1_000n, untilTs: null, ledgerGross: 0n, ledgerSettledUntil: null, ...overrides,
});

const desired = (overrides: Partial<DesiredLease> = {}): DesiredLease => ({
  terms: { pricePerSecond: 100n, maxSeconds: 7_200n, mint }, startTs: 1_000n, cancel: false, allocations: [], endTs: null, ...overrides,
});

describe("planLeaseSync", () => {
  it("activates a pending lease at the real start only when its terms are the quote's; cancels one that differs or never ran", () => {
    expect(planLeaseSync(desired(), lease({ status: "pending" }), [], true).steps).toEqual([{ kind: "activate", startTs: 1_000n }]);
    expect(planLeaseSync(desired({ startTs: null }), lease({ status: "pending" }), [], true).steps).toEqual([]);
    const cheaper = planLeaseSync(desired(), lease({ status: "pending", pricePerSecond: 99n }), [], true);
    expect(cheaper.steps).toEqual([{ kind: "cancel", reason: "the lease's terms differ from the quote" }]);
    expect(cheaper.problem).toBeDefined();
    expect(planLeaseSync(desired({ startTs: null, cancel: true }), lease({ status: "pending" }), [], true).steps.map((s) => s.kind)).toEqual(["cancel"]);
    expect(planLeaseSync(desired({ terms: { pricePerSecond: 100n, maxSeconds: 7_200n, mint: PublicKey.default } }), lease({ status: "pending" }), [], true).steps.map((s) => s.kind)).toEqual(["cancel"]);
  });

  it("sends allocation changes in time order, a release before an add at the same instant", () => {
    const plan = planLeaseSync(
      desired({ allocations: [want(0, supplierA), want(1, supplierB, { untilTs: 2_000n }), want(2, supplierC, { fromTs: 2_000n })] }),
      lease({ allocationCount: 2 }),
      [allocation(0, supplierA), allocation(1, supplierB)],
      true,
    );
    expect(plan.steps).toEqual([
      { kind: "release", index: 1, untilTs: 2_000n },
      { kind: "add", index: 2, supplier: supplierC, ratePerSecond: 50n, fromTs: 2_000n },
    ]);
  });

  it("settles each allocation up to what the ledger settled, and only then ends", () => {
    const wantAll = [want(0, supplierA, { ledgerGross: 180_000n, ledgerSettledUntil: 4_600n }), want(1, supplierB, { ledgerGross: 180_000n, ledgerSettledUntil: 4_600n })];
    const chainAll = [allocation(0, supplierA), allocation(1, supplierB, { totalGross: 180_000n, settledUntil: 4_600n })];
    const plan = planLeaseSync(desired({ allocations: wantAll, endTs: 4_600n }), lease({ allocationCount: 2 }), chainAll, true);
    expect(plan.steps).toEqual([{ kind: "settle", index: 0, supplier: supplierA, until: 4_600n }]);
    const paid = [allocation(0, supplierA, { totalGross: 180_000n, settledUntil: 4_600n }), chainAll[1]!];
    expect(planLeaseSync(desired({ allocations: wantAll, endTs: 4_600n }), lease({ allocationCount: 2 }), paid, true).steps).toEqual([{ kind: "end", endTs: 4_600n }]);
    // Still running: nothing to do.
    expect(planLeaseSync(desired({ allocations: wantAll }), lease({ allocationCount: 2 }), paid, true)).toEqual({ steps: [], finished: false });
  });

  it("never pays past the ledger: an allocation already paid what the ledger recorded gets no settle", () => {
    const plan = planLeaseSync(desired({ allocations: [want(0, supplierA, { ledgerGross: 100n, ledgerSettledUntil: 2_000n })] }), lease({ allocationCount: 1 }), [allocation(0, supplierA, { totalGross: 100n, settledUntil: 2_000n })], true);
    expect(plan.steps).toEqual([]);
  });

  it("closes an ended lease once all it owes is paid, and is finished when the escrow is gone or the lease cancelled", () => {
    expect(planLeaseSync(desired(), lease({ status: "ended", owedTotal: 500n, totalGross: 400n }), [], true)).toEqual({ steps: [], finished: false });
    expect(planLeaseSync(desired(), lease({ status: "ended", owedTotal: 500n, totalGross: 500n }), [], true).steps).toEqual([{ kind: "close" }]);
    expect(planLeaseSync(desired(), lease({ status: "ended", owedTotal: 500n, totalGross: 500n }), [], false)).toEqual({ steps: [], finished: true });
    expect(planLeaseSync(desired(), lease({ status: "closed" }), [], false).finished).toBe(true);
    expect(planLeaseSync(desired(), lease({ status: "cancelled" }), [], false).finished).toBe(true);
    expect(planLeaseSync(desired(), null, [], false)).toMatchObject({ finished: false, problem: "the lease is not on-chain" });
  });
});
