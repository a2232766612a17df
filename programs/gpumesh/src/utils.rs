//! Token helpers: program-owned token accounts at PDAs, escrow transfers / burns / close
//! (a lease's escrow, signed by the lease PDA, or a stake's vault, signed by the stake PDA).
//!
//! Creating program-owned token accounts at PDAs by hand:
//!
//! Anchor's `init` + `token::*` constraints expand to `anchor_spl::token_interface` calls,
//! which need anchor-spl's `token_2022` feature (and the whole spl-token-2022 dependency
//! tree). We only support the classic SPL Token program, so the account is created here.
use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_spl::token::{self, Burn, CloseAccount, InitializeAccount3, TokenAccount, TransferChecked};

/// Create an SPL token account at the PDA `account` (signed with `account_seeds`) for
/// `mint`, owned (as token authority) by `authority`, rent paid by `payer`.
///
/// Anyone can pre-fund a PDA address with lamports; a plain `create_account` would then fail
/// and block the address, so a funded address is topped up, allocated and assigned instead
/// (only the PDA's signature can allocate/assign it, so nobody else can have done that).
pub fn create_pda_token_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    account_seeds: &[&[u8]],
    token_program: &AccountInfo<'info>,
    system_program_info: &AccountInfo<'info>,
) -> Result<()> {
    let space = TokenAccount::LEN;
    let rent = Rent::get()?.minimum_balance(space);
    let signer = &[account_seeds];
    let current = account.lamports();
    if current == 0 {
        system_program::create_account(
            CpiContext::new_with_signer(
                system_program_info.clone(),
                CreateAccount { from: payer.clone(), to: account.clone() },
                signer,
            ),
            rent,
            space as u64,
            token_program.key,
        )?;
    } else {
        let top_up = rent.saturating_sub(current);
        if top_up > 0 {
            system_program::transfer(
                CpiContext::new(
                    system_program_info.clone(),
                    Transfer { from: payer.clone(), to: account.clone() },
                ),
                top_up,
            )?;
        }
        system_program::allocate(
            CpiContext::new_with_signer(
                system_program_info.clone(),
                Allocate { account_to_allocate: account.clone() },
                signer,
            ),
            space as u64,
        )?;
        system_program::assign(
            CpiContext::new_with_signer(
                system_program_info.clone(),
                Assign { account_to_assign: account.clone() },
                signer,
            ),
            token_program.key,
        )?;
    }
    token::initialize_account3(CpiContext::new(
        token_program.clone(),
        InitializeAccount3 {
            account: account.clone(),
            mint: mint.clone(),
            authority: authority.clone(),
        },
    ))
}

/// Move `amount` out of a lease's escrow (the lease PDA signs with `lease_seeds`).
pub fn escrow_transfer<'info>(
    token_program: &AccountInfo<'info>,
    escrow: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    lease: &AccountInfo<'info>,
    lease_seeds: &[&[u8]],
    amount: u64,
    decimals: u8,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token::transfer_checked(
        CpiContext::new_with_signer(
            token_program.clone(),
            TransferChecked { from: escrow.clone(), mint: mint.clone(), to: to.clone(), authority: lease.clone() },
            &[lease_seeds],
        ),
        amount,
        decimals,
    )
}

/// Burn `amount` from a lease's escrow (MESH fees).
pub fn escrow_burn<'info>(
    token_program: &AccountInfo<'info>,
    escrow: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    lease: &AccountInfo<'info>,
    lease_seeds: &[&[u8]],
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token::burn(
        CpiContext::new_with_signer(
            token_program.clone(),
            Burn { mint: mint.clone(), from: escrow.clone(), authority: lease.clone() },
            &[lease_seeds],
        ),
        amount,
    )
}

/// Empty the escrow into `to` (whatever it holds, so third-party dust can never block the
/// close) and close it, rent to `rent_to`. Returns the amount moved.
pub fn drain_and_close_escrow<'info>(
    token_program: &AccountInfo<'info>,
    escrow: &Account<'info, TokenAccount>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    rent_to: &AccountInfo<'info>,
    lease: &AccountInfo<'info>,
    lease_seeds: &[&[u8]],
    decimals: u8,
) -> Result<u64> {
    let amount = escrow.amount;
    escrow_transfer(token_program, &escrow.to_account_info(), mint, to, lease, lease_seeds, amount, decimals)?;
    token::close_account(CpiContext::new_with_signer(
        token_program.clone(),
        CloseAccount { account: escrow.to_account_info(), destination: rent_to.clone(), authority: lease.clone() },
        &[lease_seeds],
    ))?;
    Ok(amount)
}

/// `require!(key != Pubkey::default())` for every role and wallet the program stores.
pub fn require_not_default(key: &Pubkey) -> Result<()> {
    require!(*key != Pubkey::default(), crate::errors::GpuMeshError::InvalidAuthority);
    Ok(())
}
