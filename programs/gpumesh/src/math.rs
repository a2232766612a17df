//! Pure integer math shared by the program, the tests and the vector writer.
//! Everything here is deterministic integer arithmetic so the TypeScript side
//! (`packages/core`, BigInt) reproduces it bit for bit from `vectors/*.json`.
//!
//! # Emission schedule
//! MESH has 6 decimals. Genesis supply S0 = 500,000,000 MESH; 300,000,000 MESH (the cap)
//! are emitted hourly. Real-valued schedule: `E_t = S0 · r1 · q^(t−1)`, `r1 = 0.08/8760`,
//! `q = 1 − d`, `d = 1.38869523959793e-5`, cumulative `C(N) = S0 · r1 · (1 − q^N) / d`.
//!
//! Fixed point (scale `FP_ONE = 10^18`):
//! * `D = round(d · 10^18) = 13_886_952_395_979`, `Q = 10^18 − D`.
//! * `q^N` is computed by binary exponentiation on `Q`; every product is rounded **up**
//!   (`ceil(a·b / 10^18)`), so `q^N` is never under-estimated and `C(N)` is never
//!   over-estimated relative to the fixed-point `Q` (conservative for the supply).
//! * `S0 · r1 = S0 · 0.08 / 8760 = S0 / 109_500` exactly, so
//!   `C(N) = floor(S0 · (10^18 − q^N) / (109_500 · D))` (S0 in base units; fits u128).
//! * Capped: `C_cap(N) = min(C(N), CAP)`; `C(175_318) < CAP ≤ C(175_319)`, so the last
//!   emitting hour is 175,319 and it only mints `CAP − C(175_318)`.
//! * Hour t emits `E_t = C_cap(t) − C_cap(t − 1)`: amounts telescope, so the sum of all
//!   hourly mints equals the closed form exactly and never exceeds the cap.
//!
//! # Hour index
//! With `emission_start` the unix time emission begins, the number of **completed** hours
//! at time `now` is `h = floor((now − emission_start) / 3600)` (0 before the start).
//! Hour t = 1 is `[start, start + 3600)`; it becomes mintable at `start + 3600`.
//! A crank at time `now` may have minted in total `C_cap(h)`.

/// MESH decimals.
pub const MESH_DECIMALS: u8 = 6;
/// One MESH in base units.
pub const MESH_UNIT: u64 = 1_000_000;
/// Genesis supply S0 in base units (minted before `initialize`, outside the program).
pub const GENESIS_SUPPLY: u64 = 500_000_000 * MESH_UNIT;
/// Emission cap in base units: the most `crank_emissions` can ever mint.
pub const EMISSION_CAP: u64 = 300_000_000 * MESH_UNIT;
/// Max supply = S0 + cap.
pub const MAX_SUPPLY: u64 = 800_000_000 * MESH_UNIT;
pub const SECONDS_PER_HOUR: i64 = 3_600;
/// Fixed-point scale.
pub const FP_ONE: u128 = 1_000_000_000_000_000_000;
/// round(d · 10^18) with d = 1.38869523959793e-5 (exact value 13_886_952_395_979.3).
pub const D_FP: u128 = 13_886_952_395_979;
/// q in fixed point.
pub const Q_FP: u128 = FP_ONE - D_FP;
/// S0 · r1 = S0 · 0.08 / 8760 = S0 / R1_DIVISOR.
pub const R1_DIVISOR: u128 = 109_500;
/// First hour at which the capped cumulative emission reaches the cap.
pub const EMISSION_END_HOUR: u64 = 175_319;
/// Basis-point denominator.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// `ceil(a · b / 10^18)`; `None` on overflow (cannot happen for a, b ≤ 10^18).
pub fn mul_fp_ceil(a: u128, b: u128) -> Option<u128> {
    a.checked_mul(b)?
        .checked_add(FP_ONE - 1)?
        .checked_div(FP_ONE)
}

/// `q^n` in fixed point by binary exponentiation (rounding each product up).
pub fn q_pow(mut n: u64) -> Option<u128> {
    let mut result = FP_ONE;
    let mut base = Q_FP;
    while n > 0 {
        if n & 1 == 1 {
            result = mul_fp_ceil(result, base)?;
        }
        n >>= 1;
        if n > 0 {
            base = mul_fp_ceil(base, base)?;
        }
    }
    Some(result)
}

/// Uncapped fixed-point closed form `C(n)` in base units.
pub fn cumulative_emission_uncapped(n: u64) -> Option<u64> {
    let qn = q_pow(n)?;
    let num = (GENESIS_SUPPLY as u128).checked_mul(FP_ONE.checked_sub(qn)?)?;
    let den = R1_DIVISOR.checked_mul(D_FP)?;
    u64::try_from(num.checked_div(den)?).ok()
}

/// Capped cumulative emission `min(C(n), CAP)` after `n` completed hours.
pub fn cumulative_emission(n: u64) -> Option<u64> {
    if n >= EMISSION_END_HOUR {
        // C(n) is increasing and C(EMISSION_END_HOUR) >= CAP (unit-tested), so skip the pow.
        return Some(EMISSION_CAP);
    }
    Some(cumulative_emission_uncapped(n)?.min(EMISSION_CAP))
}

/// Amount emitted in hour `t` (t >= 1): `C_cap(t) − C_cap(t − 1)`; 0 for t = 0.
pub fn hourly_emission(t: u64) -> Option<u64> {
    if t == 0 {
        return Some(0);
    }
    cumulative_emission(t)?.checked_sub(cumulative_emission(t - 1)?)
}

/// Completed emission hours at `now` (0 before `start`).
pub fn emission_hour(now: i64, start: i64) -> u64 {
    if now <= start {
        return 0;
    }
    // now > start, so the difference is positive; i128 avoids any overflow.
    ((now as i128 - start as i128) / SECONDS_PER_HOUR as i128) as u64
}

/// What a crank at `now` mints given what was minted so far.
pub fn emission_mintable(now: i64, start: i64, minted_so_far: u64) -> Option<u64> {
    let due = cumulative_emission(emission_hour(now, start))?;
    Some(due.saturating_sub(minted_so_far))
}

/// How a settled gross amount is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Split {
    pub gross: u64,
    pub fee: u64,
    pub burn: u64,
    pub treasury: u64,
    pub supplier: u64,
}

/// `bps`-fraction of `amount`, rounded down.
pub fn bps_of(amount: u64, bps: u16) -> Option<u64> {
    let v = (amount as u128)
        .checked_mul(bps as u128)?
        .checked_div(BPS_DENOMINATOR as u128)?;
    u64::try_from(v).ok()
}

/// Split `gross`: `fee = ⌊gross·fee_bps/10⁴⌋`, `burn = ⌊fee·burn_bps/10⁴⌋` only when paid in
/// MESH, treasury `fee − burn`, supplier `gross − fee`. Rounding favours the supplier
/// (fee rounded down) and the treasury (burn rounded down).
pub fn split_gross(gross: u64, fee_bps: u16, burn_bps: u16, is_mesh: bool) -> Option<Split> {
    if fee_bps as u64 > BPS_DENOMINATOR || burn_bps as u64 > BPS_DENOMINATOR {
        return None;
    }
    let fee = bps_of(gross, fee_bps)?;
    let burn = if is_mesh { bps_of(fee, burn_bps)? } else { 0 };
    Some(Split {
        gross,
        fee,
        burn,
        treasury: fee.checked_sub(burn)?,
        supplier: gross.checked_sub(fee)?,
    })
}

/// Split the next `gross` of an allocation whose running totals so far are
/// (`prev_gross`, `prev_fee`, `prev_burned`). Fees and burns are floored on the running
/// totals, not per settlement:
/// `fee = ⌊(G + gross)·fee_bps/10⁴⌋ − prev_fee`, `burn = ⌊(F + fee)·burn_bps/10⁴⌋ − prev_burned`
/// (MESH only), so however the time is cut into settlements the totals are the same as one
/// settlement of everything: `split_running` summed = `split_gross` of the sum.
pub fn split_running(
    prev_gross: u64,
    prev_fee: u64,
    prev_burned: u64,
    gross: u64,
    fee_bps: u16,
    burn_bps: u16,
    is_mesh: bool,
) -> Option<Split> {
    if fee_bps as u64 > BPS_DENOMINATOR || burn_bps as u64 > BPS_DENOMINATOR {
        return None;
    }
    let total_gross = prev_gross.checked_add(gross)?;
    let total_fee = bps_of(total_gross, fee_bps)?;
    let fee = total_fee.checked_sub(prev_fee)?;
    let burn = if is_mesh {
        bps_of(total_fee, burn_bps)?.checked_sub(prev_burned)?
    } else {
        0
    };
    Some(Split {
        gross,
        fee,
        burn,
        treasury: fee.checked_sub(burn)?,
        supplier: gross.checked_sub(fee)?,
    })
}

/// End of the next settlement of an allocation:
/// `t = min(until ?? now, now, alloc_until, lease_end)`.
pub fn settle_until(until: Option<i64>, now: i64, alloc_until: i64, lease_end: i64) -> i64 {
    until.unwrap_or(now).min(now).min(alloc_until).min(lease_end)
}

/// Gross earned by `rate` over `[from, until)`; 0 if the range is empty.
pub fn gross_between(rate: u64, from: i64, until: i64) -> Option<u64> {
    if until <= from {
        return Some(0);
    }
    let seconds = u64::try_from((until as i128).checked_sub(from as i128)?).ok()?;
    rate.checked_mul(seconds)
}

/// What the allocations of a lease have earned in total by `end` (≥ every open
/// allocation's `from_ts`): `released_gross + end·open_rate − open_rate_from`.
pub fn owed_total(released_gross: u64, end: i64, open_rate: u64, open_rate_from: u128) -> Option<u64> {
    let end = u128::try_from(end).ok()?;
    let open = end.checked_mul(open_rate as u128)?.checked_sub(open_rate_from)?;
    u64::try_from(open.checked_add(released_gross as u128)?).ok()
}

/// Deposit for a lease: `price · max`.
pub fn lease_deposit(price_per_second: u64, max_seconds: u64) -> Option<u64> {
    price_per_second.checked_mul(max_seconds)
}

/// Stake a device of `weight_bps` must hold: `weight_bps · STAKE_PER_WEIGHT_UNIT` base units
/// (an H100, 10_000 bps, needs 1,000 MESH). `None` on overflow (impossible for a u32 weight).
pub fn required_stake(weight_bps: u32) -> Option<u64> {
    (weight_bps as u64).checked_mul(crate::constants::STAKE_PER_WEIGHT_UNIT)
}

/// Earliest time a stake whose unstake was requested at `requested_at` may be withdrawn.
pub fn stake_withdrawable_at(requested_at: i64) -> Option<i64> {
    requested_at.checked_add(crate::constants::UNSTAKE_COOLDOWN_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_spec() {
        assert_eq!(Q_FP, 999_986_113_047_604_021);
        // r1 = 0.08 / 8760 = 8 / 876_000 = 1 / 109_500 exactly.
        assert_eq!(R1_DIVISOR * 8, 100 * 8760);
        assert_eq!(MAX_SUPPLY, GENESIS_SUPPLY + EMISSION_CAP);
    }

    #[test]
    fn first_hours() {
        // E_1 ≈ 4,566.21 MESH, E_2 ≈ 4,566.15 MESH.
        assert_eq!(hourly_emission(1), Some(4_566_210_045));
        assert_eq!(hourly_emission(2), Some(4_566_146_635));
        assert_eq!(cumulative_emission(0), Some(0));
        assert_eq!(q_pow(0), Some(FP_ONE));
        assert_eq!(q_pow(1), Some(Q_FP));
    }

    #[test]
    fn cap_is_reached_exactly_at_end_hour() {
        let before = cumulative_emission_uncapped(EMISSION_END_HOUR - 1).unwrap();
        let at = cumulative_emission_uncapped(EMISSION_END_HOUR).unwrap();
        assert!(before < EMISSION_CAP, "{before}");
        assert!(at >= EMISSION_CAP, "{at}");
        assert_eq!(cumulative_emission(EMISSION_END_HOUR), Some(EMISSION_CAP));
        assert_eq!(hourly_emission(EMISSION_END_HOUR), Some(EMISSION_CAP - before));
        assert_eq!(hourly_emission(EMISSION_END_HOUR + 1), Some(0));
        assert_eq!(cumulative_emission(u64::MAX), Some(EMISSION_CAP));
    }

    #[test]
    fn hour_index() {
        assert_eq!(emission_hour(100, 100), 0);
        assert_eq!(emission_hour(99, 100), 0);
        assert_eq!(emission_hour(100 + 3599, 100), 0);
        assert_eq!(emission_hour(100 + 3600, 100), 1);
        assert_eq!(emission_hour(i64::MAX, i64::MIN), (u64::MAX as u128 / 3600) as u64);
    }

    #[test]
    fn split_rounding() {
        let s = split_gross(9_999, 250, 5_000, true).unwrap();
        assert_eq!(s, Split { gross: 9_999, fee: 249, burn: 124, treasury: 125, supplier: 9_750 });
        let s = split_gross(9_999, 250, 5_000, false).unwrap();
        assert_eq!(s.burn, 0);
        assert_eq!(s.treasury, 249);
        assert_eq!(split_gross(u64::MAX, 10_000, 10_000, true).unwrap().burn, u64::MAX);
        assert_eq!(split_gross(1, 10_001, 0, false), None);
    }

    #[test]
    fn running_totals_do_not_depend_on_how_time_is_cut() {
        // 9_999 gross in three settles of 3_333 vs one settle: per-settle flooring would lose
        // fee units; running totals give exactly the one-shot split.
        let one = split_gross(9_999, 250, 5_000, true).unwrap();
        let (mut g, mut f, mut b, mut t, mut sup) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for _ in 0..3 {
            let s = split_running(g, f, b, 3_333, 250, 5_000, true).unwrap();
            g += s.gross;
            f += s.fee;
            b += s.burn;
            t += s.treasury;
            sup += s.supplier;
        }
        assert_eq!((g, f, b, t, sup), (one.gross, one.fee, one.burn, one.treasury, one.supplier));
        assert_eq!(split_running(0, 0, 0, 9_999, 250, 5_000, true), Some(one));
        // A corrupted running total (fee above the floor) is refused, not wrapped.
        assert_eq!(split_running(100, 50, 0, 1, 250, 0, false), None);
    }

    #[test]
    fn settle_window_and_owed() {
        assert_eq!(settle_until(None, 100, i64::MAX, 200), 100);
        assert_eq!(settle_until(Some(90), 100, i64::MAX, 200), 90);
        assert_eq!(settle_until(Some(150), 100, i64::MAX, 200), 100);
        assert_eq!(settle_until(None, 300, 250, 200), 200);
        assert_eq!(gross_between(7, 10, 5), Some(0));
        assert_eq!(gross_between(7, 10, 15), Some(35));
        // two open allocations (3/s from 10, 4/s from 20) and 50 released, ended at 30
        assert_eq!(owed_total(50, 30, 7, 3 * 10 + 4 * 20), Some(50 + 3 * 20 + 4 * 10));
        assert_eq!(owed_total(0, 5, 1, 10), None);
    }

    #[test]
    fn stake_sizes() {
        // An H100 (10_000 bps) needs 1,000 MESH; proportional to the weight.
        assert_eq!(required_stake(10_000), Some(1_000 * MESH_UNIT));
        assert_eq!(required_stake(1_670), Some(167 * MESH_UNIT));
        assert_eq!(required_stake(1), Some(MESH_UNIT / 10));
        assert_eq!(required_stake(u32::MAX), Some(u32::MAX as u64 * 100_000));
        assert_eq!(stake_withdrawable_at(100), Some(100 + 7 * 24 * 3_600));
        assert_eq!(stake_withdrawable_at(i64::MAX), None);
    }
}
