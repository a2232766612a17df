/**
 * The on-chain side of settlement (settle_lease / end_lease). The chain gateway lands with the chain
 * issue; until then `RecordingChainSettlement` records what would be sent. Calls are keyed by the
 * same domain ids as the ledger, so a gateway can make them idempotent (NothingToSettle = done).
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
    this.ended.push(request);
    return { signature: null };
  }
}
