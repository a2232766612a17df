import { count, duration, mesh, percent, usdc, type HeadlineWire } from "./wire.ts";

/** The headline numbers. `data-testid`s are what the browser test compares with the API. */
export function Tiles({ headline: h }: { headline: HeadlineWire }) {
  const fill = h.fill24h;
  return (
    <section className="stats" aria-label="Network totals">
      <div className="stat">
        <div className="label">GPUs online</div>
        <div className="value" data-testid="gpus-online">{count(h.gpus.online)}</div>
        <div className="hint"><span data-testid="gpus-verified">{count(h.gpus.verified)}</span> verified of {count(h.gpus.total)}</div>
      </div>
      <div className="stat">
        <div className="label">Devices online</div>
        <div className="value" data-testid="devices-online">{count(h.devices.online)}</div>
        <div className="hint">of {count(h.devices.total)} devices · {count(h.cpus.verifiedCores)} verified CPU cores</div>
      </div>
      <div className="stat">
        <div className="label">GPUs hired</div>
        <div className="value" data-testid="gpus-hired">{count(h.gpus.hired)}</div>
        <div className="hint"><span data-testid="utilisation">{percent(h.utilisationBps)}</span> utilisation · {count(h.clustersRunning)} clusters running</div>
      </div>
      <div className="stat">
        <div className="label">Suppliers</div>
        <div className="value" data-testid="suppliers">{count(h.suppliers)}</div>
        <div className="hint">in {h.byRegion.length} regions</div>
      </div>
      <div className="stat">
        <div className="label">Revenue, 24 h</div>
        <div className="value" data-testid="revenue-24h">{usdc(h.revenue24h.USDC)}</div>
        <div className="hint">+ {mesh(h.revenue24h.MESH)} settled</div>
      </div>
      <div className="stat">
        <div className="label">MESH minted / burned</div>
        <div className="value" data-testid="mesh-minted">{mesh(h.mesh.mintedTotal)}</div>
        <div className="hint">burned {mesh(h.mesh.burnedTotal)} · 24 h: +{mesh(h.mesh.minted24h)} / −{mesh(h.mesh.burned24h)}</div>
      </div>
      <div className="stat">
        <div className="label">Circulating supply</div>
        <div className="value" data-testid="circulating">{mesh(h.mesh.circulating)}</div>
        <div className="hint">
          <span data-testid="emission-progress">{percent(h.mesh.emissionProgressBps)}</span> of the 300M emission
          <span className="bar" aria-hidden style={{ display: "block", marginTop: 6 }}>
            <span style={{ width: `${Math.min(100, h.mesh.emissionProgressBps / 100)}%` }} />
          </span>
        </div>
      </div>
      <div className="stat">
        <div className="label">Fill rate, 24 h</div>
        <div className="value" data-testid="fill-rate">{fill.fillRateBps === null ? "—" : percent(fill.fillRateBps)}</div>
        <div className="hint">
          {count(fill.filled)} running of {count(fill.paid)} paid · median {duration(fill.medianSecondsToRunning)} to running
        </div>
      </div>
    </section>
  );
}
