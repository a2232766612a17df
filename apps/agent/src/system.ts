import { statfsSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { HardwareReport } from "@gpumesh/core";
import { detectHardware } from "./hardware.ts";
import type { LinkMeasurement } from "./measure.ts";

/** Size of the filesystem that holds `dir` (or its nearest existing ancestor: before `join` creates it), GB. */
export function diskGb(dir: string): number {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      const stats = statfsSync(current);
      return Math.round((stats.blocks * stats.bsize) / 1024 ** 3);
    } catch {
      if (current === path.dirname(current)) return 0;
    }
  }
}

/** What `join` sends: the detected hardware, the disk the agent works on, the OS, the measured link. */
export function hardwareReport(workDir: string, link?: LinkMeasurement): HardwareReport {
  const hardware = detectHardware();
  return {
    ...hardware,
    diskGb: diskGb(workDir),
    os: `${os.type()} ${os.release()} ${os.arch()}`.slice(0, 80),
    ...(link ? { bandwidthUpMbps: link.upMbps, bandwidthDownMbps: link.downMbps } : {}),
  };
}

/** Whether a Docker Engine API answers on the socket (DOCKER_HOST=unix://… or /var/run/docker.sock). */
export async function dockerReachable(): Promise<{ ok: boolean; socketPath: string; detail: string }> {
  const socketPath = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice("unix://".length) : "/var/run/docker.sock";
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: "/_ping", timeout: 3_000 }, (res) => {
      res.resume();
      resolve({ ok: res.statusCode === 200, socketPath, detail: `HTTP ${res.statusCode}` });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ ok: false, socketPath, detail: error.message }));
  });
}

/**
 * Whether the engine on `socketPath` holds `image` locally (GET /images/{name}/json: 200 or 404). The
 * Docker runtime never pulls the images a lease without its own runs (--image, --ray-image,
 * --machine-image): one missing here means such leases are refused, which `doctor` says up front.
 */
export function imageOnHost(socketPath: string, image: string): Promise<boolean | null> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: `/images/${image}/json`, timeout: 3_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? true : res.statusCode === 404 ? false : null);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", () => resolve(null));
  });
}
