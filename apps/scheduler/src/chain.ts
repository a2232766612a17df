import type { Db } from "@gpumesh/db";
import type { ChainGateway, LeaseSettlementResult } from "@gpumesh/chain";
import { type Keypair, PublicKey } from "@solana/web3.js";
import type { Logger } from "pino";

/**
 * The on-chain side of settlement (settle_lease / end_lease). `GatewayChainSettlement` sends them
 * through the chain gateway; `RecordingChainSettlement` (no chain configured, tests) records what
 * would be sent. Calls are keyed by the same domain ids as the ledger and are safe to repeat: the
 * program pays by chain time, so a repeated settle is NothingToSettle (done) and a repeated end finds
 * the lease closed (done).
 */
export interface ChainSettleRequest {
  clusterId: string;
  leaseId: bigint | null;
  periodStart: Date;
  periodEnd: Date;
  gross: bigint;
}

export interface ChainEndRequest {
  clusterId: string;
  leaseId: bigint | null;
  endedAt: Date;
  refund: bigint;
}

export interface ChainSettlement {
  settleLease(request: ChainSettleRequest): Promise<{ signature: string | null }>;
  endLease(request: ChainEndRequest): Promise<{ signature: string | null }>;
}

export class RecordingChainSettlement implements ChainSettlement {
  readonly settled: ChainSettleRequest[] = [];
  readonly ended: ChainEndRequest[] = [];

  async settleLease(request: ChainSettleRequest): Promise<{ signature: string | null }> {
    this.settled.push(request);
    return { signature: null };
  }

  async endLease(request: ChainEndRequest): Promise<{ signature: string | null }> {
    // Like the chain: a lease ends once, ending it again is a no-op.
    if (!this.ended.some((e) => e.clusterId === request.clusterId)) this.ended.push(request);
    return { signature: null };
  }
}

/**
 * Settles and ends leases on-chain with the settlement authority's key. The lease PDA comes from the
 * renter's wallet and the cluster's lease id; the on-chain amounts are the program's (price per
 * second × chain seconds since the last settlement), which the hourly ledger journals mirror.
 */
export class GatewayChainSettlement implements ChainSettlement {
  constructor(
    private readonly db: Db,
    private readonly chain: { gateway: ChainGateway; settlementAuthority: Keypair },
    private readonly logger: Logger,
  ) {}

  /** The renter wallet of a cluster with an on-chain lease; null for seeded/dev clusters without one. */
  private async renterOf(clusterId: string, leaseId: bigint | null, step: string): Promise<PublicKey | null> {
    if (leaseId === null) {
      this.logger.debug({ cluster: clusterId, step }, "cluster has no on-chain lease: chain step skipped");
      return null;
    }
    const cluster = await this.db.cluster.findUniqueOrThrow({ where: { id: clusterId }, select: { renter: { select: { walletAddress: true } } } });
    try {
      return new PublicKey(cluster.renter.walletAddress);
    } catch {
      // A dev account whose "wallet" is not a key cannot hold a lease.
      this.logger.warn({ cluster: clusterId, step, wallet: cluster.renter.walletAddress }, "renter wallet is not a Solana address: chain step skipped");
      return null;
    }
  }

  settleLease(request: ChainSettleRequest): Promise<{ signature: string | null }> {
    return this.send("settle_lease", request, (renter, leaseId) => this.chain.gateway.settleLease(this.chain.settlementAuthority, renter, leaseId));
  }

  endLease(request: ChainEndRequest): Promise<{ signature: string | null }> {
    return this.send("end_lease", request, (renter, leaseId) => this.chain.gateway.endLease(this.chain.settlementAuthority, renter, leaseId));
  }

  private async send(
    step: "settle_lease" | "end_lease",
    request: { clusterId: string; leaseId: bigint | null },
    call: (renter: PublicKey, leaseId: bigint) => Promise<LeaseSettlementResult>,
  ): Promise<{ signature: string | null }> {
    const renter = await this.renterOf(request.clusterId, request.leaseId, step);
    if (!renter) return { signature: null };
    const result = await call(renter, request.leaseId!);
    this.logger.info({ cluster: request.clusterId, lease: request.leaseId!.toString(), outcome: result.outcome, signature: result.signature }, step);
    return { signature: result.signature };
  }
}
