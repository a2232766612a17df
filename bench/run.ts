/**
 * `pnpm bench` entry. Usage: pnpm bench [-- --quick] [--only placement,other]
 * Each bench is a function taking `{ quick }`; add new ones to BENCHES.
 */
import { PLACEMENT_FULL, PLACEMENT_QUICK, runPlacementBench } from "./placement.ts";
import { RESERVATION_FULL, RESERVATION_QUICK, runReservationComparison } from "./reservation.ts";
import { HEARTBEAT_FULL, HEARTBEAT_QUICK, runHeartbeatBench } from "./heartbeat.ts";
import { QUOTE_FULL, QUOTE_QUICK, runQuoteComparison } from "./quote.ts";
import { DEPLOY_FULL, DEPLOY_QUICK, runDeployBench } from "./deploy.ts";
import { GATEWAY_FULL, GATEWAY_QUICK, runGatewayBench } from "./gateway-heartbeat.ts";
import { EXPLORER_FULL, EXPLORER_QUICK, runExplorerBench } from "./explorer.ts";
import { REWARDS_FULL, REWARDS_QUICK, runRewardsBench } from "./rewards-epoch.ts";

interface BenchContext {
  quick: boolean;
}

const BENCHES: Record<string, (context: BenchContext) => unknown> = {
  placement: ({ quick }) => runPlacementBench(quick ? PLACEMENT_QUICK : PLACEMENT_FULL),
  reservation: ({ quick }) => runReservationComparison(quick ? RESERVATION_QUICK : RESERVATION_FULL),
  heartbeat: ({ quick }) => runHeartbeatBench(quick ? HEARTBEAT_QUICK : HEARTBEAT_FULL),
  quote: ({ quick }) => runQuoteComparison(quick ? QUOTE_QUICK : QUOTE_FULL),
  deploy: ({ quick }) => runDeployBench(quick ? DEPLOY_QUICK : DEPLOY_FULL),
  gateway: ({ quick }) => runGatewayBench(quick ? GATEWAY_QUICK : GATEWAY_FULL),
  explorer: ({ quick }) => runExplorerBench(quick ? EXPLORER_QUICK : EXPLORER_FULL),
  rewards: ({ quick }) => runRewardsBench(quick ? REWARDS_QUICK : REWARDS_FULL),
};

function parseArgs(argv: readonly string[]): { quick: boolean; only: string[] | null } {
  let quick = false;
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") continue; // pnpm forwards the separator
    if (arg === "--quick") quick = true;
    else if (arg === "--only") only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (arg.startsWith("--only=")) only = arg.slice("--only=".length).split(",").filter(Boolean);
    else throw new Error(`unknown argument ${arg} (usage: run.ts [--quick] [--only ${Object.keys(BENCHES).join(",")}])`);
  }
  return { quick, only };
}

const { quick, only } = parseArgs(process.argv.slice(2));
const names = only ?? Object.keys(BENCHES);
for (const name of names) if (!(name in BENCHES)) throw new Error(`unknown bench "${name}"; known: ${Object.keys(BENCHES).join(", ")}`);
console.log(`GPUMesh benchmarks (${quick ? "quick" : "full"}) — node ${process.version}, ${new Date().toISOString()}`);
for (const name of names) {
  console.log(`\n## ${name}`);
  const started = Date.now();
  await BENCHES[name]!({ quick });
  console.log(`(${name}: ${((Date.now() - started) / 1_000).toFixed(1)} s)`);
}
