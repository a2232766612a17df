import { SendTransactionError, type TransactionError } from "@solana/web3.js";
import { GPUMESH_IDL } from "./idl.ts";

/** Base class of every error the chain gateway raises on purpose. */
export class ChainError extends Error {
  constructor(
    message: string,
    readonly logs: readonly string[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The wallet-signed transaction is not the one the server built (names the first differing field). */
export class TransactionMismatchError extends ChainError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`transaction does not match the order: ${field} is ${actual}, expected ${expected}`);
  }
}

/** The payer cannot cover the fee / rent, or the token account cannot cover the amount. */
export class InsufficientFundsError extends ChainError {}

/** The transaction's blockhash expired before it landed: rebuild (server) or re-sign (wallet). */
export class BlockhashExpiredError extends ChainError {}

/** This signature was already used (for another order, or the chain saw it before). */
export class ReplayedTransactionError extends ChainError {
  constructor(readonly signature: string, detail: string) {
    super(`transaction ${signature} was already submitted: ${detail}`);
  }
}

/** The program rejected the transaction with one of its own errors (6000+). */
export class ProgramError extends ChainError {
  constructor(
    readonly code: number,
    readonly errorName: string,
    message: string,
    logs: readonly string[] = [],
  ) {
    super(`program error ${code} ${errorName}: ${message}`, logs);
  }
}

/** Any other failed transaction (message and logs of the node). */
export class TransactionFailedError extends ChainError {}

const programErrors = new Map<number, { name: string; msg: string }>((GPUMESH_IDL.errors ?? []).map((e) => [e.code, { name: e.name, msg: e.msg ?? e.name }]));

/** The gpumesh error name for a custom error code, when it is one of ours. */
export function programErrorName(code: number): string | undefined {
  return programErrors.get(code)?.name;
}

const INSUFFICIENT_LOG = /insufficient funds|insufficient lamports/i;

/** Maps a custom error code + logs of a failed instruction to a typed error. */
function fromCustom(code: number, message: string, logs: readonly string[]): ChainError {
  const ours = programErrors.get(code);
  if (ours) return new ProgramError(code, ours.name, ours.msg, logs);
  // SPL Token's InsufficientFunds and the system program's ResultWithNegativeLamports are both 1.
  if (code === 1 && logs.some((l) => INSUFFICIENT_LOG.test(l))) return new InsufficientFundsError(`insufficient funds: ${message}`, logs);
  return new TransactionFailedError(message, logs);
}

/** Classifies a structured transaction error (from a signature status or a simulation). */
export function classifyTransactionError(err: TransactionError | unknown, logs: readonly string[] = []): ChainError {
  const text = JSON.stringify(err);
  if (err === "BlockhashNotFound") return new BlockhashExpiredError("blockhash not found (expired)", logs);
  if (err === "AlreadyProcessed") return new TransactionFailedError("this transaction has already been processed", logs);
  if (err === "InsufficientFundsForFee" || err === "AccountNotFound" || (typeof err === "object" && err !== null && "InsufficientFundsForRent" in err)) {
    return new InsufficientFundsError(`insufficient funds: ${text}`, logs);
  }
  if (typeof err === "object" && err !== null && "InstructionError" in err) {
    const [index, inner] = (err as { InstructionError: [number, unknown] }).InstructionError;
    if (typeof inner === "object" && inner !== null && "Custom" in inner) return fromCustom(Number((inner as { Custom: number }).Custom), `instruction ${index}: ${text}`, logs);
    if (inner === "InsufficientFunds") return new InsufficientFundsError(`insufficient funds: ${text}`, logs);
  }
  return new TransactionFailedError(`transaction failed: ${text}`, logs);
}

/** Classifies what `sendRawTransaction` threw (a node's preflight error) into a typed error. */
export function classifySendError(error: unknown): ChainError | unknown {
  if (!(error instanceof SendTransactionError)) return error;
  const message = error.transactionError.message;
  const logs = error.transactionError.logs ?? [];
  if (/blockhash not found/i.test(message)) return new BlockhashExpiredError(message, logs);
  if (/already been processed/i.test(message)) return new TransactionFailedError(message, logs);
  if (/insufficient funds|no record of a prior credit|insufficient lamports/i.test(message)) return new InsufficientFundsError(message, logs);
  const custom = /custom program error: 0x([0-9a-f]+)/i.exec(message);
  if (custom) return fromCustom(Number.parseInt(custom[1]!, 16), message, logs);
  if (/insufficient funds/i.test(message)) return new InsufficientFundsError(message, logs);
  return new TransactionFailedError(message, logs);
}
