/** An instant as `YYYY-MM-DD HH:MM:SS UTC` (the same for every viewer), or `none` when there is none. */
export function utcTime(date: Date | null, none = "—"): string {
  return date ? `${date.toISOString().replace("T", " ").slice(0, 19)} UTC` : none;
}

/**
 * A token amount (base units, 6 decimals, as a decimal string or bigint), truncated to `digits`
 * decimals (all six by default; the quote shows cents, its per-GPU-hour price four).
 */
export function money(units: string | bigint, token: string, digits = 6): string {
  const value = BigInt(units);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const fraction = (abs % 1_000_000n).toString().padStart(6, "0").slice(0, digits);
  return `${sign}${(abs / 1_000_000n).toLocaleString("en-US")}${digits ? `.${fraction}` : ""} ${token}`;
}
