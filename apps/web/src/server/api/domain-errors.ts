import "server-only";
import { BlockhashExpiredError, InsufficientFundsError, ProgramError, ReplayedTransactionError, TransactionMismatchError } from "@gpumesh/chain";
import { UnexpectedClusterStatusError } from "@gpumesh/core";
import { ClusterNotFoundError, DeviceUnavailableError } from "@gpumesh/db";
import { RequestTimeoutError } from "@gpumesh/queue";
import { z } from "zod";
import { ApiError, validationError } from "./errors.ts";

/**
 * Domain errors the packages raise on purpose, as envelope errors. Their messages are written for
 * people where noted; the others get a fixed text so no internal detail (ids of other accounts, RPC
 * URLs, SQL) leaks. Returns null for anything unexpected (the wrapper then answers an opaque 500).
 */
export function domainError(error: unknown): ApiError | null {
  if (error instanceof z.ZodError) return validationError(error);
  if (error instanceof UnexpectedClusterStatusError) return new ApiError("CONFLICT", `the cluster is ${error.actual.toLowerCase()} now; reload to see its state`);
  if (error instanceof ClusterNotFoundError) return new ApiError("NOT_FOUND", "cluster not found");
  if (error instanceof DeviceUnavailableError) return new ApiError("CONFLICT", "some of the devices were taken meanwhile; ask for a new quote");
  if (error instanceof TransactionMismatchError) return new ApiError("TRANSACTION_MISMATCH", `transaction: its ${error.field} differs from the order the server built; nothing was charged`, "transaction");
  if (error instanceof ReplayedTransactionError) return new ApiError("CONFLICT", "transaction: already submitted", "transaction");
  if (error instanceof BlockhashExpiredError) return new ApiError("EXPIRED", "transaction: expired before it landed; nothing was charged, sign again", "transaction");
  if (error instanceof InsufficientFundsError) return new ApiError("CONFLICT", "your wallet does not hold enough tokens (or SOL for fees) for this payment", "transaction");
  if (error instanceof ProgramError) return new ApiError("CONFLICT", `the GPUMesh program refused the transaction: ${error.errorName}`, "transaction");
  if (error instanceof RequestTimeoutError) return new ApiError("UNAVAILABLE", "the scheduler did not answer; try again shortly");
  if (isUnavailable(error)) return new ApiError("UNAVAILABLE", "a backing service is unavailable; try again shortly");
  return null;
}

function isUnavailable(error: unknown): boolean {
  // The cause too: web3.js wraps a failed RPC call ("failed to get recent blockhash: TypeError: fetch
  // failed") around the network error that says what happened.
  const cause = error instanceof Error && error.cause instanceof Error ? ` ${error.cause.message}` : "";
  const text = error instanceof Error ? `${error.name} ${error.message}${cause}` : "";
  return /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|Connection is closed|Stream isn't writeable|Command timed out|enableOfflineQueue|Can't reach database server|P1001|ETIMEDOUT|failed to get recent blockhash/.test(text);
}
