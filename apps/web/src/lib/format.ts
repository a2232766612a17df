import { megabytesPerSecond } from "@gpumesh/core";

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

/** A measured link in Mbps as measured, and in MB/s as the connectivity tiers are stated: "10,000 Mbps down, 5,000 Mbps up (1,250 / 625 MB/s)". */
export function measuredLink(link: { bandwidthDownMbps: number; bandwidthUpMbps: number }): string {
  const n = (value: number) => value.toLocaleString("en-US");
  return `${n(link.bandwidthDownMbps)} Mbps down, ${n(link.bandwidthUpMbps)} Mbps up (${n(megabytesPerSecond(link.bandwidthDownMbps))} / ${n(megabytesPerSecond(link.bandwidthUpMbps))} MB/s)`;
}
