import net from "node:net";
import os from "node:os";
import { PassThrough, type Readable } from "node:stream";
import { RAY_DASHBOARD_PORT, RAY_GCS_PORT, type OpenedAssignment } from "@gpumesh/agent-protocol";
import Docker from "dockerode";
import { rayEnv, type Runtime, type RunningWorkload, type StartOptions } from "./runtime.ts";

export { RAY_DASHBOARD_PORT, RAY_GCS_PORT };

/**
 * The labels on every container this runtime creates. It only ever lists, stops or removes containers
 * that carry `agent=1` and its own device label (checked again on every listed container, not only
 * through the engine's filter): other people's containers on the host are never touched.
 */
export const LABELS = {
  agent: "io.gpumesh.agent",
  device: "io.gpumesh.device",
  allocation: "io.gpumesh.allocation",
  cluster: "io.gpumesh.cluster",
} as const;

/**
 * The local images leases run when they bring none of their own (the agent's --image, --ray-image and
 * --machine-image default to these; none is ever pulled). The machine image, for bare-metal leases,
 * is built by the supplier from apps/agent/images/machine (an SSH server that lets in the lease's
 * SSH_PUBLIC_KEY as root).
 */
export const WORKLOAD_IMAGE = "gpumesh/workload:latest";
export const RAY_IMAGE = "rayproject/ray:2.40.0";
export const MACHINE_IMAGE = "gpumesh/machine:latest";
/** Where a container's SSH server listens: reported to the renter as an `ssh` endpoint. */
export const SSH_PORT = 22;
/** The port a workload listens on inside its container (its PORT); published on a free host port. */
export const WORKLOAD_PORT = 8080;
/** What `ray start` prints once the node runs (head or worker): a Ray worker is ready when it says so. */
export const RAY_STARTED = /Ray runtime started/;
/** All the machine's GPUs (`docker run --gpus all`): the lease has the whole device. */
export const ALL_GPUS = [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }];

export interface DockerRuntimeOptions {
  /** The Docker Engine API socket; default `DOCKER_HOST` when it is `unix://…`, else /var/run/docker.sock. */
  socketPath?: string;
  /** This device: its id labels every container, and bounds everything the runtime may touch. */
  deviceId: string;
  /** Which (local) image runs a lease without a renter's workload. These are never pulled. */
  image: (assignment: OpenedAssignment) => string;
  /**
   * A renter's image missing here: `missing` pulls it (default), `never` refuses the lease (a machine
   * that must only run what its owner loaded).
   */
  pull?: "missing" | "never";
  /** The container's command; default the image's own. */
  command?: string[];
  /** Request every GPU (`DeviceRequests`, the NVIDIA Container Toolkit). */
  gpus: boolean;
  /** The host renters reach this machine at (the endpoint URLs); default 127.0.0.1. */
  advertiseHost?: string;
  /** Seconds between SIGTERM and SIGKILL when a lease stops; default 10 (Docker's own). */
  stopTimeoutS?: number;
  /** Seconds start() waits for the published port to accept connections; default 60. */
  startTimeoutS?: number;
  /** Size of each container's /dev/shm; default leaseShmBytes() of this machine. */
  shmBytes?: number;
}

/**
 * /dev/shm for a lease: 30 % of the machine's RAM. Docker's default is 64 MB, and both Ray and PyTorch
 * need far more: Ray's object store lives in /dev/shm (by default it takes 30 % of memory, and falls
 * back to a much slower /tmp, with a warning, when /dev/shm is smaller) and PyTorch DataLoader workers
 * pass batches through it (a 64 MB /dev/shm makes them crash with "bus error"). The lease has the whole
 * machine, and shared memory takes RAM only when it is written.
 */
export function leaseShmBytes(totalMemoryBytes = os.totalmem()): number {
  return Math.max(64 * 1024 * 1024, Math.floor(totalMemoryBytes * 0.3));
}

/** `DOCKER_HOST=unix:///path` → /path; anything else (unset, tcp://) → /var/run/docker.sock. */
export function dockerSocketPath(env: Record<string, string | undefined> = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
}

export const containerName = (allocationId: string) => `gpumesh-${allocationId}`;

/**
 * A Ray image: its repository's last path segment is `ray` or starts with `ray-` (rayproject/ray,
 * rayproject/ray-ml, anyscale/ray-llm), whatever the registry, tag or digest. Its command should start
 * the head with `--dashboard-host=0.0.0.0`, so the published dashboard port answers.
 */
export function isRayImage(image: string): boolean {
  const repository = image.split("@")[0]!.replace(/:[^/]*$/, "");
  return /^ray(-|$)/.test(repository.slice(repository.lastIndexOf("/") + 1));
}

/** The port a workload of this image serves on inside its container. */
export const containerPort = (image: string) => (isRayImage(image) ? RAY_DASHBOARD_PORT : WORKLOAD_PORT);

/** The image a lease runs: the renter's, else this agent's default for the cluster type. */
export const leaseImage = (assignment: OpenedAssignment, fallback: (assignment: OpenedAssignment) => string) => assignment.workload?.image ?? fallback(assignment);

/**
 * The ports a lease serves on, the first as PORT: the renter's, else the image's. A Ray head started by
 * this runtime serves its dashboard; a Ray worker serves nothing of its own (it is ready once Ray says
 * it started, RAY_STARTED) unless the renter declared ports.
 */
export function leasePorts(assignment: OpenedAssignment, image: string): number[] {
  // A bare-metal node is reached over SSH: its port 22 first, whatever else the renter declared.
  if (assignment.clusterType === "BARE_METAL") return [SSH_PORT, ...(assignment.workload?.ports ?? []).filter((port) => port !== SSH_PORT)];
  if (assignment.workload?.ports?.length) return assignment.workload.ports;
  if (assignment.ray?.role === "worker") return [];
  if (assignment.ray?.role === "head" && !assignment.workload?.command) return [RAY_DASHBOARD_PORT];
  return [containerPort(image)];
}

/** Everything published: the lease's ports and, for a Ray head, its GCS port, where its workers join. */
export function publishedPorts(assignment: OpenedAssignment, image: string): number[] {
  const ports = leasePorts(assignment, image);
  return assignment.ray?.role === "head" && !ports.includes(RAY_GCS_PORT) ? [...ports, RAY_GCS_PORT] : ports;
}

/**
 * The command of a Ray node when the renter gave none (the supplier's `--command` is for leases without
 * a role): the head runs Ray's GCS on RAY_GCS_PORT and its dashboard for everyone (published, so the
 * renter reaches it); a worker joins its head. Both claim the GPUs the lease has (none when this
 * machine gives containers no GPU) and stay in the foreground (`--block`): the container lives as long
 * as Ray does.
 */
export function rayCommand(assignment: OpenedAssignment, options: { gpus: boolean; rayHeadAddress?: string }): string[] | undefined {
  const gpus = `--num-gpus=${options.gpus ? assignment.gpuCount : 0}`;
  if (assignment.ray?.role === "head") return ["ray", "start", "--head", `--port=${RAY_GCS_PORT}`, "--dashboard-host=0.0.0.0", gpus, "--block"];
  if (assignment.ray?.role === "worker") {
    if (!options.rayHeadAddress) throw new Error("a Ray worker cannot start before its head's address has arrived");
    return ["ray", "start", `--address=${options.rayHeadAddress}`, gpus, "--block"];
  }
  return undefined;
}

/** The renter's env (never PORT or GPUMESH_*: core Workload refuses them) and SSH key, as KEY=value. */
export function workloadEnv(assignment: OpenedAssignment): string[] {
  const workload = assignment.workload;
  if (!workload) return [];
  return [...Object.entries(workload.env ?? {}).map(([name, value]) => `${name}=${value}`), ...(workload.sshPublicKey ? [`SSH_PUBLIC_KEY=${workload.sshPublicKey}`] : [])];
}

/**
 * The Engine API create body for a lease (`POST /containers/create?name=gpumesh-<allocationId>`): the
 * labels, the process runtime's environment (with the Ray role, rayEnv), its ports published on host
 * ports the engine picks, the GPUs when asked, a /dev/shm Ray and PyTorch can work with, no restart
 * policy (a lease that dies is reported, not resurrected). The command: the renter's, else a Ray node's
 * (rayCommand), else the supplier's, else the image's.
 */
export function containerSpec(
  assignment: OpenedAssignment,
  options: { deviceId: string; image: string; command?: string[]; gpus: boolean; stopTimeoutS?: number; shmBytes?: number } & StartOptions,
): Docker.ContainerCreateOptions {
  const ports = publishedPorts(assignment, options.image).map((port) => `${port}/tcp`);
  const servesOn = leasePorts(assignment, options.image)[0];
  // A bare-metal node runs its image's own command (the machine image's SSH server), never the
  // supplier's --command, which is for container leases.
  const command = assignment.workload?.command ?? rayCommand(assignment, options) ?? (assignment.clusterType === "BARE_METAL" ? undefined : options.command);
  return {
    name: containerName(assignment.allocationId),
    Image: options.image,
    ...(command ? { Cmd: command } : {}),
    Env: [
      ...workloadEnv(assignment),
      ...(servesOn ? [`PORT=${servesOn}`] : []),
      `GPUMESH_ALLOCATION_ID=${assignment.allocationId}`,
      `GPUMESH_CLUSTER_ID=${assignment.clusterId}`,
      `GPUMESH_CLUSTER_TYPE=${assignment.clusterType}`,
      `GPUMESH_GPU_COUNT=${assignment.gpuCount}`,
      `GPUMESH_ENDS_AT=${assignment.endsAt}`,
      ...Object.entries(rayEnv(assignment, options)).map(([name, value]) => `${name}=${value}`),
    ],
    Labels: {
      [LABELS.agent]: "1",
      [LABELS.device]: options.deviceId,
      [LABELS.allocation]: assignment.allocationId,
      [LABELS.cluster]: assignment.clusterId,
    },
    ExposedPorts: Object.fromEntries(ports.map((port) => [port, {}])),
    StopTimeout: options.stopTimeoutS ?? 10,
    HostConfig: {
      // An empty HostPort: the engine binds a free one (no race with a port probed here).
      PortBindings: Object.fromEntries(ports.map((port) => [port, [{ HostIp: "", HostPort: "" }]])),
      RestartPolicy: { Name: "no" },
      ShmSize: options.shmBytes ?? leaseShmBytes(),
      ...(options.gpus ? { DeviceRequests: ALL_GPUS } : {}),
    },
  };
}

/** What the Engine API's errors carry (docker-modem). */
interface EngineError {
  statusCode?: number;
  json?: unknown;
  code?: string;
  message?: string;
}

const statusOf = (error: unknown) => (error as EngineError | undefined)?.statusCode;

/** An engine or socket failure as a sentence a renter can read; the runtime's own errors pass through. */
function readable(error: unknown, doing: string): Error {
  const engine = error as EngineError;
  if (engine?.code && ["ENOENT", "ECONNREFUSED", "EACCES", "ECONNRESET", "EPIPE"].includes(engine.code)) {
    return new Error(`Docker is not reachable on this machine (${engine.code})`);
  }
  if (typeof engine?.statusCode !== "number") return error instanceof Error ? error : new Error(String(error));
  const json = engine.json as { message?: unknown } | string | null | undefined;
  const detail = (typeof json === "string" ? json : typeof json?.message === "string" ? json.message : (engine.message ?? "")).trim();
  if (/could not select device driver|nvidia-container-cli|nvidia-container-runtime|unknown or invalid runtime name: nvidia/i.test(detail)) {
    return new Error("this machine cannot give containers its GPUs (is the NVIDIA Container Toolkit installed?)");
  }
  if (/port is already allocated|address already in use/i.test(detail)) return new Error("no free host port to publish the workload on");
  return new Error(`Docker could not ${doing} the container: ${detail || `HTTP ${engine.statusCode}`}`);
}

/** `[::1]` for IPv6 literals in URLs. */
const urlHost = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);

/** Splits a byte stream into lines, keeping a partial last line until the rest arrives. */
function lines(stream: Readable, emit: (lines: string[]) => void): void {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    const complete = parts.map((line) => line.replace(/\r$/, "")).filter((line) => line.trim());
    if (complete.length) emit(complete);
  });
  stream.on("end", () => {
    if (partial.trim()) emit([partial.replace(/\r$/, "")]);
    partial = "";
  });
}

/**
 * Whether a TCP server answers on 127.0.0.1:port. Docker's userland proxy accepts on a published port
 * even when nothing listens in the container, then closes at once; a connection that stays open for
 * `settleMs` (or brings data) is a server.
 */
export function acceptsConnections(port: number, settleMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let settled: NodeJS.Timeout | undefined;
    const done = (open: boolean) => {
      clearTimeout(settled);
      socket.destroy();
      resolve(open);
    };
    socket.once("connect", () => {
      settled = setTimeout(() => done(true), settleMs);
    });
    socket.once("data", () => done(true));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

interface Tracked {
  containerId: string;
  endpoints: RunningWorkload["endpoints"];
}

/**
 * Runs each allocation as a container `gpumesh-<allocationId>` through the Docker Engine API
 * (dockerode; Podman's compatible API works too), labelled with this device and the allocation. The
 * image must already be on the machine (never pulled). One port is published on a free host port and
 * reported as the `url` endpoint (also `ray-dashboard` for RAY clusters, but a worker's); the workload is
 * running once that port accepts connections. A Ray head also publishes its GCS port, reported as
 * `ray-head` (advertiseHost:hostPort, what its workers join); a Ray worker publishes nothing and is
 * running once Ray says it started. Output is demultiplexed into lines for onLog; a container that exits
 * on its own is reported there and stays (stopped) until stop() or reconcile() removes it. stop() and
 * reconcile() find containers by their labels, so they also work for containers a previous agent
 * process started.
 */
export class DockerRuntime implements Runtime {
  readonly name = "docker";
  readonly runsImages = true;
  private readonly docker: Docker;
  private readonly tracked = new Map<string, Tracked>();
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly logListeners: ((allocationId: string, lines: string[]) => void)[] = [];
  /** Leases whose output said Ray started (RAY_STARTED): how a Ray worker, which serves no port, is ready. */
  private readonly rayStarted = new Set<string>();

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: options.socketPath ?? dockerSocketPath() });
  }

  async start(assignment: OpenedAssignment, startOptions: StartOptions = {}): Promise<RunningWorkload> {
    const { allocationId } = assignment;
    const known = this.tracked.get(allocationId);
    if (known) return { endpoints: known.endpoints };
    const image = leaseImage(assignment, this.options.image);
    await this.requireImage(image, assignment.workload?.image === image && this.options.pull !== "never");

    // One left from before (an agent restart, an earlier try): carry on with it if it runs, else clear it.
    for (const existing of await this.owned(allocationId).catch((error: unknown) => Promise.reject(readable(error, "list")))) {
      if (existing.State === "running") return this.serve(allocationId, existing.Id, { adopted: true });
      await this.remove(existing.Id);
    }

    let container: Docker.Container;
    const spec = containerSpec(assignment, { ...this.options, ...startOptions, image });
    try {
      container = await this.docker.createContainer(spec);
    } catch (error) {
      if (statusOf(error) === 409) throw new Error(`a container named ${containerName(allocationId)} already exists on this machine and is not this agent's`);
      if (statusOf(error) === 404) throw new Error(`image ${image} is not available on this machine`);
      throw readable(error, "create");
    }
    try {
      await container.start();
    } catch (error) {
      await this.remove(container.id).catch(() => undefined);
      throw readable(error, "start");
    }
    return this.serve(allocationId, container.id, { adopted: false });
  }

  /**
   * Tracks a started container, follows its output and exit, and waits until its port serves; one that
   * publishes none (a Ray worker) until its output says Ray started (or, adopted from an earlier agent
   * process, while it runs).
   */
  private async serve(allocationId: string, containerId: string, { adopted }: { adopted: boolean }): Promise<RunningWorkload> {
    const container = this.docker.getContainer(containerId);
    try {
      this.rayStarted.delete(allocationId);
      const hostPort = await this.track(allocationId, container, adopted);
      if (hostPort) await this.waitUntilServing(container, () => acceptsConnections(hostPort), "did not accept connections on its port");
      else if (!adopted) await this.waitUntilServing(container, async () => this.rayStarted.has(allocationId), 'did not report "Ray runtime started"');
      return { endpoints: this.tracked.get(allocationId)?.endpoints ?? [] };
    } catch (error) {
      if (this.tracked.get(allocationId)?.containerId === containerId) this.tracked.delete(allocationId);
      await this.remove(containerId).catch(() => undefined);
      throw readable(error, "start");
    }
  }

  /**
   * Records the container as this allocation's, with its endpoints (none if it publishes no port:
   * possible only for one adopted), follows its output and exit; returns the published host port.
   */
  private async track(allocationId: string, container: Docker.Container, adopted: boolean): Promise<number | undefined> {
    const info = await container.inspect();
    const env = (name: string) => info.Config.Env?.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
    const clusterType = env("GPUMESH_CLUSTER_TYPE");
    const rayRole = env("GPUMESH_RAY_ROLE");
    // Every published port, the one the workload serves on (PORT) first.
    const published = Object.entries(info.NetworkSettings.Ports ?? {})
      .map(([port, bindings]) => ({ port: Number.parseInt(port, 10), host: Number((bindings ?? []).find((entry) => entry.HostPort)?.HostPort ?? 0) }))
      .filter((entry) => entry.host > 0)
      .sort((a, b) => (String(a.port) === env("PORT") ? -1 : String(b.port) === env("PORT") ? 1 : a.port - b.port));
    const hostPort = published[0]?.host;
    const host = urlHost(this.options.advertiseHost ?? "127.0.0.1");
    const endpoints: RunningWorkload["endpoints"] = [];
    for (const [index, entry] of published.entries()) {
      if (entry.port === SSH_PORT) {
        endpoints.push({ kind: "ssh", url: `ssh://root@${host}:${entry.host}` });
        continue;
      }
      // A Ray head's GCS: the address its workers join (the gateway forwards it to them).
      if (rayRole === "head" && entry.port === RAY_GCS_PORT) {
        endpoints.push({ kind: "ray-head", url: `${host}:${entry.host}` });
        continue;
      }
      const url = `http://${host}:${entry.host}/`;
      endpoints.push({ kind: "url", url });
      // The dashboard is the head's alone (a worker runs none).
      if (index === 0 && clusterType === "RAY" && rayRole !== "worker") endpoints.push({ kind: "ray-dashboard", url });
    }
    this.tracked.set(allocationId, { containerId: container.id, endpoints });
    const logsDone = this.follow(allocationId, container, adopted);
    void this.watchExit(allocationId, container, logsDone);
    return hostPort;
  }

  /** Streams the container's output (from its start, or from now for one adopted) into onLog. */
  private async follow(allocationId: string, container: Docker.Container, fromNow: boolean): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await container.logs({ follow: true, stdout: true, stderr: true, ...(fromNow ? { since: Math.floor(Date.now() / 1000) } : {}) });
    } catch {
      return; // gone already: the exit watcher reports it
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const emit = (output: string[]) => this.emit(allocationId, output);
    lines(stdout, emit);
    lines(stderr, emit);
    const ended = Promise.all([new Promise((resolve) => stdout.once("end", resolve)), new Promise((resolve) => stderr.once("end", resolve))]);
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const finish = () => {
      stdout.end();
      stderr.end();
    };
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
    await ended;
  }

  /** Reports an exit this runtime did not ask for, after the output before it. */
  private async watchExit(allocationId: string, container: Docker.Container, logsDone: Promise<void>): Promise<void> {
    let code: number | undefined;
    try {
      code = ((await container.wait()) as { StatusCode?: number }).StatusCode;
    } catch {
      code = (await container.inspect().catch(() => undefined))?.State.ExitCode;
    }
    if (this.tracked.get(allocationId)?.containerId !== container.id) return; // stopped by us
    this.tracked.delete(allocationId);
    await Promise.race([logsDone, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    this.emit(allocationId, [`container exited with code ${code ?? "unknown"}`]);
  }

  private async waitUntilServing(container: Docker.Container, ready: () => Promise<boolean>, notReady: string): Promise<void> {
    const timeoutS = this.options.startTimeoutS ?? 60;
    const deadline = Date.now() + timeoutS * 1000;
    while (Date.now() < deadline) {
      const { State } = await container.inspect();
      if (!State.Running) {
        throw new Error(State.OOMKilled ? "the container was killed for using too much memory before serving" : `the container exited with code ${State.ExitCode} before serving`);
      }
      if (await ready()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the container ${notReady} within ${timeoutS} s`);
  }

  private async requireImage(image: string, pull: boolean): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw readable(error, "inspect the image of");
      if (!pull) throw new Error(`image ${image} is not available on this machine`);
    }
    try {
      const progress = await this.docker.pull(image);
      // An engine reports a failed pull inside the progress stream ({ error }), not as a failed request.
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(progress, (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[] = []) => {
          const failed = events.find((event) => event.error || event.errorDetail);
          if (error) reject(error);
          else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
          else resolve();
        }),
      );
      await this.docker.getImage(image).inspect();
    } catch (error) {
      throw new Error(`could not pull image ${image}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    }
  }

  /** Containers of this device (and allocation), double-checked label by label. */
  private async owned(allocationId?: string): Promise<Docker.ContainerInfo[]> {
    const label = [`${LABELS.agent}=1`, `${LABELS.device}=${this.options.deviceId}`, ...(allocationId ? [`${LABELS.allocation}=${allocationId}`] : [])];
    const containers = await this.docker.listContainers({ all: true, filters: { label } });
    return containers.filter(
      ({ Labels: labels }) =>
        labels?.[LABELS.agent] === "1" &&
        labels[LABELS.device] === this.options.deviceId &&
        Boolean(labels[LABELS.allocation]) &&
        (!allocationId || labels[LABELS.allocation] === allocationId),
    );
  }

  /** Stops (SIGTERM, then SIGKILL after stopTimeoutS) and removes one container; gone already is fine. */
  private async remove(containerId: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    try {
      await container.stop({ t: this.options.stopTimeoutS ?? 10 });
    } catch (error) {
      if (statusOf(error) !== 304 && statusOf(error) !== 404) throw readable(error, "stop");
    }
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      // 404: gone; 409: another call is removing it right now.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw readable(error, "remove");
    }
  }

  async stop(allocationId: string): Promise<void> {
    const pending = this.stopping.get(allocationId);
    if (pending) return pending;
    const stopping = (async () => {
      this.tracked.delete(allocationId);
      this.rayStarted.delete(allocationId);
      const containers = await this.owned(allocationId).catch((error: unknown) => Promise.reject(readable(error, "list")));
      await Promise.all(containers.map((container) => this.remove(container.Id)));
    })().finally(() => this.stopping.delete(allocationId));
    this.stopping.set(allocationId, stopping);
    return stopping;
  }

  /**
   * Removes containers labelled as this device's that no running lease owns (a crash left them):
   * those whose allocation is neither in `keep` nor started by this runtime. Kept ones still running
   * are taken over (running(), onLog, stop()). Never touches a container without this device's
   * labels. Returns the allocation ids whose containers it removed.
   */
  async reconcile(keep: string[]): Promise<string[]> {
    const keeping = new Set(keep);
    const orphans: { id: string; allocationId: string }[] = [];
    for (const container of await this.owned().catch((error: unknown) => Promise.reject(readable(error, "list")))) {
      const allocationId = container.Labels[LABELS.allocation]!;
      if (this.tracked.has(allocationId) || this.stopping.has(allocationId)) continue;
      if (!keeping.has(allocationId)) orphans.push({ id: container.Id, allocationId });
      else if (container.State === "running") await this.track(allocationId, this.docker.getContainer(container.Id), true).catch(() => undefined);
    }
    await Promise.all(orphans.map(({ id }) => this.remove(id)));
    return orphans.map(({ allocationId }) => allocationId);
  }

  running(): string[] {
    return [...this.tracked.keys()];
  }

  onLog(listener: (allocationId: string, lines: string[]) => void): void {
    this.logListeners.push(listener);
  }

  private emit(allocationId: string, output: string[]): void {
    if (this.tracked.has(allocationId) && output.some((line) => RAY_STARTED.test(line))) this.rayStarted.add(allocationId);
    for (const listener of this.logListeners) listener(allocationId, output);
  }
}
