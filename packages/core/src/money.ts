/** Payment tokens and their base units. Amounts are always integer base units (`bigint`). */
export const TOKENS = {
  USDC: { symbol: "USDC", decimals: 6 },
  MESH: { symbol: "MESH", decimals: 6 },
} as const;

export type Token = keyof typeof TOKENS;
export const TOKEN_NAMES = Object.keys(TOKENS) as [Token, ...Token[]];

/** 1 whole token in base units. */
export function unitsPerToken(token: Token): bigint {
  return 10n ** BigInt(TOKENS[token].decimals);
}

/** Parses a decimal string such as "2.19" into base units, exactly (no floats). */
export function parseAmount(text: string, token: Token): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal amount: "${text}"`);
  const decimals = TOKENS[token].decimals;
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) throw new RangeError(`"${text}" has more than ${decimals} decimals for ${token}`);
  return BigInt(match[1]!) * unitsPerToken(token) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** Formats base units for people: `formatAmount(2_190_000n, "USDC") === "2.19"`. */
export function formatAmount(units: bigint, token: Token, options: { minFractionDigits?: number } = {}): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const one = unitsPerToken(token);
  const whole = (abs / one).toLocaleString("en-US");
  let fraction = (abs % one).toString().padStart(TOKENS[token].decimals, "0").replace(/0+$/, "");
  fraction = fraction.padEnd(options.minFractionDigits ?? 0, "0");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}
