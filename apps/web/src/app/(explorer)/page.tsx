import { REGIONS } from "@gpumesh/core";
import { toJson } from "@/server/json.ts";
import { logger } from "@/server/logger.ts";
import { capacity, gpuModelMarkets, networkHeadline } from "@/server/services/explorer/home.ts";
import { worldMap } from "@/server/services/explorer/world-map.ts";
import { ExplorerHome, type ExplorerHomeProps } from "./_home/explorer-home.tsx";

export const dynamic = "force-dynamic";

/** The same JSON the API answers (bigints as strings, dates as ISO strings), for the client component. */
const wire = <T,>(value: unknown) => JSON.parse(toJson(value)) as T;

export default async function ExplorerPage() {
  let props: ExplorerHomeProps;
  try {
    const [headline, shapes, models] = await Promise.all([networkHeadline(), capacity({}), gpuModelMarkets()]);
    props = {
      headline: wire(headline),
      shapes: wire(shapes.shapes),
      models: wire(models.models),
      map: worldMap(),
      regions: REGIONS.map((r) => ({ id: r.id, name: r.name })),
    };
  } catch (error) {
    // The reason goes to the log; the public page never shows database errors.
    logger.error({ err: error }, "explorer: network snapshot failed");
    return (
      <div className="panel error" role="alert">
        <h2>The network data is unavailable</h2>
        <p>GPUMesh could not load the network right now. Try again in a minute.</p>
      </div>
    );
  }
  return <ExplorerHome {...props} />;
}
