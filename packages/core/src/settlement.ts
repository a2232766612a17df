/**
 * Lease settlement split (DESIGN.md, token economics). Mirrors programs/gpumesh/src/math.rs; the
 * shared vectors written by the Rust tests prove the two agree to the base unit.
 */
export const BPS_DENOMINATOR = 10_000n;

export interface SettlementSplit {
  gross: bigint;
  fee: bigint;
  burn: bigint;
  treasury: bigint;
  supplier: bigint;
}

export function settlementSplit(pricePerSecond: bigint, seconds: bigint, feeBps: bigint, burnBps: bigint, paidInMesh: boolean): SettlementSplit {
  if (pricePerSecond < 0n || seconds < 0n) throw new RangeError("price and seconds must be non-negative");
  if (feeBps < 0n || feeBps > BPS_DENOMINATOR || burnBps < 0n || burnBps > BPS_DENOMINATOR) throw new RangeError("basis points must be within 0..10000");
  const gross = pricePerSecond * seconds;
  const fee = (gross * feeBps) / BPS_DENOMINATOR;
  const burn = paidInMesh ? (fee * burnBps) / BPS_DENOMINATOR : 0n;
  return { gross, fee, burn, treasury: fee - burn, supplier: gross - fee };
}

/** What an allocation has been paid so far (its running totals; all zero before the first settle). */
export interface AllocationTotals {
  gross: bigint;
  fee: bigint;
  burn: bigint;
}

export const ZERO_TOTALS: AllocationTotals = { gross: 0n, fee: 0n, burn: 0n };

/**
 * One settlement step of an allocation (programs/gpumesh `settle_allocation`): `rate · seconds` more
 * gross, with fee and burn floored on the running totals, `fee_k = ⌊G_k·fee/10⁴⌋ − ⌊G_{k−1}·fee/10⁴⌋`,
 * `burn_k = ⌊F_k·burn/10⁴⌋ − ⌊F_{k−1}·burn/10⁴⌋` (MESH only). However the served time is cut into
 * steps, the sums over the steps are the split of the whole: settling more often never changes what
 * anyone gets. Returns the step's split and the new totals.
 */
export function allocationSettlement(totals: AllocationTotals, ratePerSecond: bigint, seconds: bigint, feeBps: bigint, burnBps: bigint, paidInMesh: boolean): { split: SettlementSplit; totals: AllocationTotals } {
  if (totals.gross < 0n || totals.fee < 0n || totals.burn < 0n) throw new RangeError("running totals must be non-negative");
  const whole = settlementSplit(1n, totals.gross + ratePerSecond * seconds, feeBps, burnBps, paidInMesh);
  const gross = whole.gross - totals.gross;
  const fee = whole.fee - totals.fee;
  const burn = whole.burn - totals.burn;
  if (fee < 0n || burn < 0n) throw new RangeError("running totals do not belong to these rates");
  return { split: { gross, fee, burn, treasury: fee - burn, supplier: gross - fee }, totals: { gross: whole.gross, fee: whole.fee, burn: whole.burn } };
}
