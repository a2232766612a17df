//! Natively compiled programs call `sol_log_data` (Anchor's `emit!`) through the global syscall
//! stubs, and program-test's stubs leave it at the default (`println!`), so events would never
//! reach the transaction's logs. This wrapper delegates everything to program-test's stubs and
//! routes `sol_log_data` into the log collector (as a marked `sol_log` line that `fix_logs` turns
//! into the validator's `Program data: <base64> …` line).
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use solana_sdk::{
    account_info::AccountInfo,
    entrypoint::ProgramResult,
    instruction::Instruction,
    program_stubs::{set_syscall_stubs, SyscallStubs},
    pubkey::Pubkey,
};

const MARK: &str = "\u{1}gpumesh-program-data:";
const MARKED_LINE: &str = "Program log: \u{1}gpumesh-program-data:";

struct Placeholder;
impl SyscallStubs for Placeholder {}

struct WithProgramData {
    inner: Box<dyn SyscallStubs>,
}

/// Installs the wrapper around the current (program-test's) stubs. Call after the bank started.
pub fn install() {
    let inner = set_syscall_stubs(Box::new(Placeholder));
    set_syscall_stubs(Box::new(WithProgramData { inner }));
}

/// The program of a `Program <id> invoke [n]` line.
fn invoked(line: &str) -> Option<&str> {
    line.strip_prefix("Program ")?
        .split_once(" invoke [")
        .map(|(program, _)| program)
}

/// Makes program-test's logs read like a validator's: marked lines become `Program data: …`, and
/// the doubled lines it writes for natively compiled (builtin) programs are folded (an `invoke`
/// logged both by program-test and by the runtime, at two depths for a CPI, keeps the deeper one;
/// a repeated `success` / `failed` line is kept once).
pub fn fix_logs(logs: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(logs.len());
    for line in logs {
        let line = match line.strip_prefix(MARKED_LINE) {
            Some(data) => format!("Program data: {data}"),
            None => line,
        };
        if let Some(prev) = out.last() {
            let outcome = line.ends_with(" success") || line.contains(" failed: ");
            if outcome && *prev == line {
                continue;
            }
            if invoked(prev).is_some() && invoked(prev) == invoked(&line) {
                out.pop();
            }
        }
        out.push(line);
    }
    out
}

impl SyscallStubs for WithProgramData {
    fn sol_log_data(&self, fields: &[&[u8]]) {
        let data: Vec<String> = fields.iter().map(|f| B64.encode(f)).collect();
        self.inner.sol_log(&format!("{MARK}{}", data.join(" ")));
    }
    fn sol_log(&self, message: &str) {
        self.inner.sol_log(message)
    }
    fn sol_log_compute_units(&self) {
        self.inner.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.inner.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        self.inner
            .sol_invoke_signed(instruction, account_infos, signers_seeds)
    }
    fn sol_get_sysvar(
        &self,
        sysvar_id_addr: *const u8,
        var_addr: *mut u8,
        offset: u64,
        length: u64,
    ) -> u64 {
        self.inner
            .sol_get_sysvar(sysvar_id_addr, var_addr, offset, length)
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_clock_sysvar(var_addr)
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_schedule_sysvar(var_addr)
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_fees_sysvar(var_addr)
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_rent_sysvar(var_addr)
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_rewards_sysvar(var_addr)
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_last_restart_slot(var_addr)
    }
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        self.inner.sol_get_epoch_stake(vote_address)
    }
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memcpy(dst, src, n)
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        self.inner.sol_memmove(dst, src, n)
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        self.inner.sol_memcmp(s1, s2, n, result)
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        self.inner.sol_memset(s, c, n)
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.inner.sol_get_return_data()
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        self.inner.sol_set_return_data(data)
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.inner.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.inner.sol_get_stack_height()
    }
}
