/**
 * What connectivity tiers rest on: round-trip latency and throughput to the gateway, measured at join
 * (GET /health for latency, GET/POST /speed for download/upload). Reported as whole Mbps.
 */
export interface LinkMeasurement {
  latencyMs: number;
  downMbps: number;
  upMbps: number;
}

export async function measureLink(gateway: string, options: { bytes?: number; samples?: number } = {}): Promise<LinkMeasurement> {
  const bytes = options.bytes ?? 8 * 1024 * 1024;
  const rtts: number[] = [];
  for (let i = 0; i < (options.samples ?? 5); i++) {
    const started = performance.now();
    const response = await fetch(new URL("/health", gateway), { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    rtts.push(performance.now() - started);
  }
  rtts.sort((a, b) => a - b);
  let started = performance.now();
  const download = await fetch(new URL(`/speed?bytes=${bytes}`, gateway), { signal: AbortSignal.timeout(60_000) });
  const received = (await download.arrayBuffer()).byteLength;
  const downSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const upload = await fetch(new URL("/speed", gateway), { method: "POST", body: new Uint8Array(bytes), signal: AbortSignal.timeout(60_000) });
  await upload.arrayBuffer();
  const upSeconds = (performance.now() - started) / 1000;
  return {
    latencyMs: Math.round(rtts[Math.floor(rtts.length / 2)]!),
    downMbps: Math.round((received * 8) / 1e6 / Math.max(downSeconds, 1e-3)),
    upMbps: Math.round((bytes * 8) / 1e6 / Math.max(upSeconds, 1e-3)),
  };
}
