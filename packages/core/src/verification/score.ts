/**
 * A device's verification score (basis points, 0–10,000) after a challenge closes. Matching skips
 * devices under MIN_VERIFICATION_SCORE_BPS (default 5,000) and rewards scale with verified work, so
 * the score is how failed or missing answers cost a supplier.
 *
 *   PASSED   s ← s + ⌈(10,000 − s) / 2⌉   half way to full: a new device (0) is matchable after one
 *                                        pass (5,000), and trust is rebuilt quickly after a blip
 *   EXPIRED  s ← s − ⌈s / 4⌉             a missing answer may be a network blip: three in a row take a
 *                                        perfect device (10,000 → 4,218) under the default floor
 *   FAILED   s ← ⌊s / 4⌋                 a wrong answer is a cheat or faulty hardware that would corrupt
 *                                        renters' results: one drops any device under the floor
 *                                        (10,000 → 2,500), and it takes two passes to come back
 *
 * Ceilings make both moves reach their bound (10,000 and 0) instead of stalling one short.
 */
export const VERIFICATION_SCORE_MAX_BPS = 10_000;

export type ChallengeOutcome = "PASSED" | "FAILED" | "EXPIRED";

export function nextVerificationScore(currentBps: number, outcome: ChallengeOutcome): number {
  const s = Math.min(VERIFICATION_SCORE_MAX_BPS, Math.max(0, Math.trunc(currentBps)));
  switch (outcome) {
    case "PASSED":
      return s + Math.ceil((VERIFICATION_SCORE_MAX_BPS - s) / 2);
    case "EXPIRED":
      return s - Math.ceil(s / 4);
    case "FAILED":
      return Math.floor(s / 4);
  }
}
