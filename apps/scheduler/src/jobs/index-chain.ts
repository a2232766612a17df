import { ChainIndexer } from "@gpumesh/chain";
import { PrismaChainIndexStore } from "@gpumesh/chain/store";
import type { Db } from "@gpumesh/db";
import type { Logger } from "pino";
import type { ChainContext } from "../chain-context.ts";

/**
 * The `index` job: one catch-up pass of the chain indexer per tick. The cursor lives in Postgres
 * (`chain_cursor`) and moves in the same transaction as the rows it covers, so a pass that crashes or
 * a scheduler that was down resumes exactly where the last commit stopped. A transaction the RPC no
 * longer has (pruned) is skipped, logged as an error and counted in the pass's `missed`.
 */
export function chainIndexPass(
  db: Db,
  chain: Pick<ChainContext, "connection" | "programId" | "config">,
  logger?: Pick<Logger, "error">,
): () => Promise<{ applied: number; missed: number }> {
  let indexer: ChainIndexer | null = null;
  return async () => {
    // The MESH mint is fixed at initialize: read the config once, on the first pass that reaches the node.
    indexer ??= new ChainIndexer(chain.connection, new PrismaChainIndexStore(db, (await chain.config()).meshMint, { programId: chain.programId }), {
      programId: chain.programId,
      onMissing: (signature, slot) => logger?.error({ signature, slot }, "chain indexer: the RPC no longer has this transaction; skipped (reconciliation will show any money it moved)"),
    });
    const missedBefore = indexer.missed;
    const applied = await indexer.catchUp();
    return { applied, missed: indexer.missed - missedBefore };
  };
}
