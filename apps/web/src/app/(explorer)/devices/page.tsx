import { formatAmount, GPU_MODELS, gpuModel, REGIONS, region as regionInfo } from "@gpumesh/core";
import type { Metadata } from "next";
import { ApiError } from "@/server/api/errors.ts";
import { DeviceListQuery } from "@/server/api/schemas/directory.ts";
import { logger } from "@/server/logger.ts";
import { listDevices, type DeviceListPage } from "@/server/services/explorer/directory.ts";
import { StatusBadge } from "../_components/status-badge.tsx";

export const metadata: Metadata = { title: "Devices" };
export const dynamic = "force-dynamic";

type SearchParams = Record<string, string | string[] | undefined>;

const FILTERS = ["q", "model", "region", "status", "network", "verification", "sort"] as const;
const STATUSES = ["online", "offline", "registered", "suspended"];
const NETWORKS = ["gpumesh", "render", "filecoin", "aethir"];
const LEVELS = [
  ["trusted", "Trusted (score ≥ 90%)"],
  ["verified", "Verified (score ≥ 50%)"],
  ["unverified", "Unverified (under 50%)"],
] as const;
const SORTS = [
  ["newest", "Newest first"],
  ["price", "Cheapest ask first"],
  ["gpus", "Most GPUs first"],
] as const;

/** The filters of this URL as a query string, with `cursor` (or none): links keep what was asked. */
function hrefWith(filters: Record<string, string | undefined>, cursor?: string): string {
  const params = new URLSearchParams();
  for (const key of FILTERS) if (filters[key]) params.set(key, filters[key]);
  if (cursor) params.set("cursor", cursor);
  const text = params.toString();
  return text ? `/devices?${text}` : "/devices";
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export default async function DevicesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const raw = Object.fromEntries(Object.entries(await searchParams).map(([key, value]) => [key, first(value)])) as Record<string, string | undefined>;
  // Empty selects submit "" (any): drop them before validating.
  const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = DeviceListQuery.safeParse(given);
  let page: DeviceListPage | null = null;
  let problem: string | null = null;
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    problem = `${issue.path.join(".")}: ${issue.message}`;
  } else {
    try {
      page = await listDevices(parsed.data);
    } catch (error) {
      if (error instanceof ApiError && error.code === "VALIDATION") problem = error.message;
      else {
        // The reason goes to the log; the public page never shows it.
        logger.error({ err: error }, "explorer: devices table failed");
        problem = "unavailable";
      }
    }
  }
  const filters = given as Record<string, string | undefined>;
  const filtered = FILTERS.some((key) => key !== "sort" && filters[key]);
  return (
    <>
      <h1>Devices</h1>
      <p className="subtitle">Every machine on the network: search and filter, then open one to see its checks, uptime, leases and earnings. The address bar keeps your filters, so you can share the view.</p>
      <form className="panel filters" method="get" action="/devices" role="search" aria-label="Filter devices">
        <label className="field wide">
          <span>Search</span>
          <input type="search" name="q" defaultValue={filters.q ?? ""} placeholder="Device or supplier name, id or wallet" maxLength={100} />
        </label>
        <label className="field">
          <span>GPU model</span>
          <select name="model" defaultValue={filters.model ?? ""}>
            <option value="">Any</option>
            {GPU_MODELS.map((model) => <option key={model.id} value={model.id}>{model.name}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Region</span>
          <select name="region" defaultValue={filters.region ?? ""}>
            <option value="">Any</option>
            {REGIONS.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Status</span>
          <select name="status" defaultValue={filters.status ?? ""}>
            <option value="">Any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Supplier network</span>
          <select name="network" defaultValue={filters.network ?? ""}>
            <option value="">Any</option>
            {NETWORKS.map((n) => <option key={n} value={n}>{n === "gpumesh" ? "GPUMesh" : n[0]!.toUpperCase() + n.slice(1)}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Verification</span>
          <select name="verification" defaultValue={filters.verification ?? ""}>
            <option value="">Any</option>
            {LEVELS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Sort</span>
          <select name="sort" defaultValue={filters.sort ?? "newest"}>
            {SORTS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </label>
        <div className="filter-actions">
          <button type="submit" className="primary" data-testid="apply-filters">Apply</button>
          {filtered ? <a href="/devices">Clear filters</a> : null}
        </div>
      </form>
      {problem === "unavailable" ? (
        <div className="panel error" role="alert">
          <h2>The devices are unavailable</h2>
          <p>GPUMesh could not load the devices right now. Try again in a minute.</p>
        </div>
      ) : problem ? (
        <div className="panel error" role="alert" data-testid="filter-error">
          <h2>This filter cannot be used</h2>
          <p>{problem}. <a href="/devices">Start again</a>.</p>
        </div>
      ) : page && page.items.length === 0 ? (
        <div className="panel empty" data-testid="no-devices">
          <h2>{parsed.success && parsed.data.cursor ? "No more devices" : "No device matches"}</h2>
          <p>{filtered ? "Try fewer filters, or another search." : "When suppliers register machines they appear here."}</p>
          {filtered ? <a href="/devices">Clear filters</a> : null}
        </div>
      ) : page ? (
        <section className="panel" aria-labelledby="devices-heading">
          <h2 id="devices-heading" data-testid="match-count">
            {page.matches.count.toLocaleString("en-US")}
            {page.matches.atLeast ? "+" : ""} {page.matches.count === 1 && !page.matches.atLeast ? "device" : "devices"}
          </h2>
          <div tabIndex={0} role="region" aria-label="Devices" className="scroll">
            <table className="cards">
              <thead>
                <tr>
                  <th scope="col">Device</th><th scope="col">Hardware</th><th scope="col">Region</th><th scope="col">Status</th>
                  <th scope="col">Verification</th><th scope="col" className="num">Ask / GPU-hour</th><th scope="col">Supplier</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((device) => (
                  <tr key={device.id} data-testid="device-row">
                    <td data-label="Device"><a href={`/devices/${device.id}`}>{device.name}</a></td>
                    <td data-label="Hardware">{device.gpuModelId ? `${device.gpuCount} × ${gpuModel(device.gpuModelId)?.name ?? device.gpuModelId}` : `CPU, ${device.cpuCores} threads`}</td>
                    <td data-label="Region">{regionInfo(device.region)?.name ?? device.region}</td>
                    <td data-label="Status"><StatusBadge status={device.status} /></td>
                    <td data-label="Verification">{device.verificationLevel} ({(device.verificationScoreBps / 100).toFixed(0)}%)</td>
                    <td data-label="Ask / GPU-hour" className="num">{device.gpuCount > 0 ? `$${formatAmount(device.pricePerGpuHour, "USDC", { minFractionDigits: 2 })}` : "—"}</td>
                    <td data-label="Supplier"><a href={`/suppliers/${device.supplier.id}`}>{device.supplier.name}</a> <small className="muted">· {device.network.toLowerCase()}</small></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="dir-pager" aria-label="Pages">
            {parsed.success && parsed.data.cursor ? <a href={hrefWith(filters)}>First page</a> : null}
            {page.next_cursor ? <a href={hrefWith(filters, page.next_cursor)} rel="next" data-testid="next-page">Next page</a> : null}
          </nav>
        </section>
      ) : null}
    </>
  );
}
