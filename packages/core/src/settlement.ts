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
