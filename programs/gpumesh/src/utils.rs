//! Creating program-owned token accounts at PDAs by hand.
//!
//! Anchor's `init` + `token::*` constraints expand to `anchor_spl::token_interface` calls,
//! which need anchor-spl's `token_2022` feature (and the whole spl-token-2022 dependency
//! tree). We only support the classic SPL Token program, so the account is created here.
use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_spl::token::{self, InitializeAccount3, TokenAccount};

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
