import { GPU_MODELS, REGIONS } from "@gpumesh/core";
import type { Metadata } from "next";
import { requireSession } from "@/server/auth/session.ts";
import { toJson } from "@/server/json.ts";
import { marketAvailability } from "@/server/services/markets/get-availability.ts";
import { DeployForm, type Market } from "./_components/deploy-form.tsx";

export const metadata: Metadata = { title: "Deploy a cluster" };
export const dynamic = "force-dynamic";

export default async function DeployPage() {
  const session = await requireSession();
  const markets = JSON.parse(toJson(await marketAvailability("USDC"))) as Market[];
  return (
    <>
      <h1>Deploy a GPU cluster</h1>
      <p className="subtitle">Choose the hardware, see live availability and an exact quote, then pay from your wallet. Unused time is refunded to the base unit.</p>
      <DeployForm
        sessionWallet={session.walletAddress}
        initialMarkets={markets}
        models={GPU_MODELS.map((model) => ({ id: model.id, name: model.name, vramGb: model.vramGb, architecture: model.architecture }))}
        regions={REGIONS.map((region) => ({ id: region.id, name: region.name, continent: region.continent }))}
      />
    </>
  );
}
