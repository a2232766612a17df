/** A token amount (base units, 6 decimals, as a decimal string or bigint) with all its decimals. */
export function money(units: string | bigint, token: string): string {
  const value = BigInt(units);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  return `${sign}${(abs / 1_000_000n).toLocaleString("en-US")}.${(abs % 1_000_000n).toString().padStart(6, "0")} ${token}`;
}
