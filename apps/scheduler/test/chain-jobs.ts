import type { Db } from "@gpumesh/db";
import type { ChainGateway } from "@gpumesh/chain";
import type { LocalnetAccounts } from "@gpumesh/chain/localnet";
import type { Logger } from "pino";
import type { AgentAssignment, AgentChannel, AgentResponseListener } from "../src/agents.ts";
import { GatewayChainSettlement } from "../src/chain.ts";
import { readProgramConfig } from "../src/chain-context.ts";
import type { DeployDeps } from "../src/jobs/deploy.ts";
import type { SettleDeps } from "../src/jobs/settle.ts";

// Deps of the job functions the workers run, for tests that drive them directly against localnet
// with one clock for the scheduler and the chain (money.test.ts, extension.test.ts).

/** Records assignments; the test answers for the agents at the instants it chooses. */
export class ScriptedAgents implements AgentChannel {
  readonly assigned: AgentAssignment[] = [];
  readonly revoked: string[] = [];
  async assign(_deviceId: string, assignment: AgentAssignment) {
    if (!this.assigned.some((a) => a.allocationId === assignment.allocationId)) this.assigned.push(assignment);
  }
  async revoke(_deviceId: string, allocationId: string) {
    this.revoked.push(allocationId);
  }
  onResponse(_listener: AgentResponseListener) {}
  async close() {}
}

/** Deploy deps whose scheduling does nothing (the test runs each step itself). */
export function scriptedDeployDeps(db: Db, agents: AgentChannel, logger: Logger, now: () => Date): DeployDeps {
  const noop = async () => undefined;
  return {
    db, agents, publish: () => undefined, logger, now,
    schedule: { ackDeadline: noop, running: noop, endEarly: noop, leaseChanged: noop },
    config: { ackTimeoutMs: 600_000, maxReplacements: 2, maxReserveAttempts: 3, minVerificationScoreBps: 5_000 },
  };
}

/** Settle deps on the real chain: the lease sync sends through `gateway`, at the program's rates. */
export function chainSettleDeps(db: Db, gateway: ChainGateway, chain: LocalnetAccounts, agents: AgentChannel, logger: Logger, now: () => Date): SettleDeps & { chain: GatewayChainSettlement } {
  const settlement = new GatewayChainSettlement(db, { gateway, settlementAuthority: chain.settlementAuthority, config: () => readProgramConfig(gateway.connection) }, logger);
  return { db, chain: settlement, agents, publish: () => undefined, config: { feeBps: BigInt(chain.feeBps), burnBps: BigInt(chain.burnBps) }, logger, now };
}
