import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenedAssignment } from "@gpumesh/agent-protocol";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { imageOnHost } from "../src/system.ts";
import { acceptsConnections, ALL_GPUS, containerSpec, dockerSocketPath, DockerRuntime, isRayImage, LABELS, leaseShmBytes, MACHINE_IMAGE } from "../src/runtime/docker.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const IMAGE = "localhost/gpumesh-busybox:test";
/** busybox, Debian's sshd and the machine image's own entrypoint (scripts/podman-machine-image.sh). */
const MACHINE_TEST_IMAGE = "localhost/gpumesh-machine:test";

function assignment(overrides: Partial<OpenedAssignment> = {}): OpenedAssignment {
  return {
    allocationId: randomUUID(),
    clusterId: randomUUID(),
    deviceId: randomUUID(),
    clusterType: "CONTAINER",
    gpuCount: 1,
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    ...overrides,
  };
}

describe("the Docker runtime's create body", () => {
  it("labels, names and configures the container like the process runtime's environment", () => {
    const lease = assignment({ clusterType: "CONTAINER", gpuCount: 4 });
    const spec = containerSpec(lease, { deviceId: "device-1", image: "acme/service:1", gpus: false });
    expect(spec.name).toBe(`gpumesh-${lease.allocationId}`);
    expect(spec.Labels).toEqual({ [LABELS.agent]: "1", [LABELS.device]: "device-1", [LABELS.allocation]: lease.allocationId, [LABELS.cluster]: lease.clusterId });
    expect(spec.Env).toEqual([
      "PORT=8080",
      `GPUMESH_ALLOCATION_ID=${lease.allocationId}`,
      `GPUMESH_CLUSTER_ID=${lease.clusterId}`,
      "GPUMESH_CLUSTER_TYPE=CONTAINER",
      "GPUMESH_GPU_COUNT=4",
      `GPUMESH_ENDS_AT=${lease.endsAt}`,
    ]);
    expect(spec.ExposedPorts).toEqual({ "8080/tcp": {} });
    expect(spec.HostConfig?.PortBindings).toEqual({ "8080/tcp": [{ HostIp: "", HostPort: "" }] });
    expect(spec.Cmd).toBeUndefined();
    expect(spec.HostConfig?.DeviceRequests).toBeUndefined();
  });

  it("requests every GPU through DeviceRequests when asked (docker run --gpus all)", () => {
    const spec = containerSpec(assignment(), { deviceId: "d", image: "acme/service:1", command: ["serve"], gpus: true });
    expect(spec.HostConfig?.DeviceRequests).toEqual([{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }]);
    expect(ALL_GPUS).toEqual(spec.HostConfig?.DeviceRequests);
    expect(spec.Cmd).toEqual(["serve"]);
  });

  it("publishes the Ray dashboard port (8265) for a Ray image", () => {
    for (const image of ["rayproject/ray:2.40.0-gpu", "rayproject/ray-ml", "registry.example:5000/team/ray@sha256:abc", "ray"]) expect(isRayImage(image)).toBe(true);
    for (const image of ["acme/stingray:1", "raylib/app", "acme/service:ray", "localhost:5000/x/array"]) expect(isRayImage(image)).toBe(false);
    const spec = containerSpec(assignment({ clusterType: "RAY" }), { deviceId: "d", image: "rayproject/ray:2.40.0", gpus: true });
    expect(spec.Env).toContain("PORT=8265");
    expect(spec.ExposedPorts).toEqual({ "8265/tcp": {} });
  });

  it("a Ray head runs `ray start --head`, publishing its dashboard (PORT) and its GCS port for the workers", () => {
    const lease = assignment({ clusterType: "RAY", gpuCount: 8, ray: { role: "head" } });
    // The supplier's --command is for leases without a role: a head must start Ray's GCS.
    const spec = containerSpec(lease, { deviceId: "d", image: "rayproject/ray:2.40.0-gpu", command: ["the-suppliers-default"], gpus: true, shmBytes: 8 * 1024 ** 3 });
    expect(spec.Cmd).toEqual(["ray", "start", "--head", "--port=6379", "--dashboard-host=0.0.0.0", "--num-gpus=8", "--block"]);
    expect(spec.Env).toEqual(expect.arrayContaining(["PORT=8265", "GPUMESH_RAY_ROLE=head"]));
    expect(spec.Env!.some((entry) => entry.startsWith("GPUMESH_RAY_HEAD_ADDRESS="))).toBe(false);
    expect(spec.ExposedPorts).toEqual({ "8265/tcp": {}, "6379/tcp": {} });
    expect(spec.HostConfig?.ShmSize).toBe(8 * 1024 ** 3);
    // Even in an image not named ray, the head serves its dashboard.
    expect(containerSpec(lease, { deviceId: "d", image: "acme/train-on-ray:1", gpus: false }).Env).toContain("PORT=8265");
  });

  it("a Ray worker runs `ray start --address=<head>` and publishes nothing; it cannot be created without its head", () => {
    const headAllocationId = randomUUID();
    const lease = assignment({ clusterType: "RAY", gpuCount: 4, ray: { role: "worker", headAllocationId } });
    const spec = containerSpec(lease, { deviceId: "d", image: "rayproject/ray:2.40.0", gpus: false, rayHeadAddress: "203.0.113.7:32768" });
    // No GPU given to containers on this machine: Ray is told none.
    expect(spec.Cmd).toEqual(["ray", "start", "--address=203.0.113.7:32768", "--num-gpus=0", "--block"]);
    expect(spec.Env).toEqual(expect.arrayContaining(["GPUMESH_RAY_ROLE=worker", "GPUMESH_RAY_HEAD_ADDRESS=203.0.113.7:32768"]));
    expect(spec.Env!.some((entry) => entry.startsWith("PORT="))).toBe(false);
    expect(spec.ExposedPorts).toEqual({});
    expect(() => containerSpec(lease, { deviceId: "d", image: "rayproject/ray:2.40.0", gpus: false })).toThrow("a Ray worker cannot start before its head's address has arrived");
  });

  it("a renter's command on a Ray node runs as given, told its role and its head's address", () => {
    const workload = { image: "ghcr.io/acme/ray-train:3", command: ["sh", "-c", "ray start --address=$GPUMESH_RAY_HEAD_ADDRESS --block"] };
    const worker = containerSpec(assignment({ clusterType: "RAY", workload, ray: { role: "worker", headAllocationId: randomUUID() } }), { deviceId: "d", image: workload.image, gpus: true, rayHeadAddress: "gpu-7.example.net:40001" });
    expect(worker.Cmd).toEqual(workload.command);
    expect(worker.Env).toEqual(expect.arrayContaining(["GPUMESH_RAY_ROLE=worker", "GPUMESH_RAY_HEAD_ADDRESS=gpu-7.example.net:40001"]));
    const head = containerSpec(assignment({ clusterType: "RAY", workload: { ...workload, ports: [8888] }, ray: { role: "head" } }), { deviceId: "d", image: workload.image, gpus: true });
    expect(head.Cmd).toEqual(workload.command);
    // The renter's ports, and the GCS port its workers join.
    expect(head.ExposedPorts).toEqual({ "8888/tcp": {}, "6379/tcp": {} });
    expect(head.Env).toEqual(expect.arrayContaining(["PORT=8888", "GPUMESH_RAY_ROLE=head"]));
  });

  it("a bare-metal lease runs the machine image's own command (its SSH server), port 22 first, with the renter's key", () => {
    const sshPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop";
    const lease = assignment({ clusterType: "BARE_METAL", gpuCount: 8, workload: { sshPublicKey, ports: [8888, 22] } });
    // The supplier's --command is for container leases: it would replace the SSH server.
    const spec = containerSpec(lease, { deviceId: "d", image: MACHINE_IMAGE, command: ["the-suppliers-default"], gpus: true });
    expect(spec.Image).toBe("gpumesh/machine:latest");
    expect(spec.Cmd).toBeUndefined();
    expect(Object.keys(spec.ExposedPorts!)).toEqual(["22/tcp", "8888/tcp"]);
    expect(spec.Env).toEqual(expect.arrayContaining([`SSH_PUBLIC_KEY=${sshPublicKey}`, "PORT=22", "GPUMESH_CLUSTER_TYPE=BARE_METAL"]));
    expect(spec.HostConfig?.DeviceRequests).toEqual(ALL_GPUS);
  });

  it("gives every lease a /dev/shm of 30 % of the machine's RAM (Docker's 64 MB default breaks Ray's object store and PyTorch loaders)", () => {
    expect(leaseShmBytes(64 * 1024 ** 3)).toBe(Math.floor(64 * 1024 ** 3 * 0.3));
    expect(leaseShmBytes(128 * 1024 ** 2)).toBe(64 * 1024 ** 2);
    expect(containerSpec(assignment(), { deviceId: "d", image: "acme/service:1", gpus: false }).HostConfig?.ShmSize).toBe(leaseShmBytes());
  });

  it("runs the renter's workload: its command, its env and SSH key before ours, every port it serves published", () => {
    const lease = assignment({
      workload: { image: "ghcr.io/acme/train:2", command: ["python", "train.py"], env: { EPOCHS: "3" }, ports: [8888, 22], sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop" },
    });
    const spec = containerSpec(lease, { deviceId: "d", image: "ghcr.io/acme/train:2", command: ["the-suppliers-default"], gpus: true });
    expect(spec.Cmd).toEqual(["python", "train.py"]);
    expect(spec.Env!.slice(0, 3)).toEqual(["EPOCHS=3", "SSH_PUBLIC_KEY=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop", "PORT=8888"]);
    expect(spec.ExposedPorts).toEqual({ "8888/tcp": {}, "22/tcp": {} });
    expect(Object.keys(spec.HostConfig!.PortBindings as object)).toEqual(["8888/tcp", "22/tcp"]);
  });

  it("finds the socket in DOCKER_HOST when it is a unix socket", () => {
    expect(dockerSocketPath({ DOCKER_HOST: "unix:///tmp/podman.sock" })).toBe("/tmp/podman.sock");
    expect(dockerSocketPath({ DOCKER_HOST: "tcp://10.0.0.1:2375" })).toBe("/var/run/docker.sock");
    expect(dockerSocketPath({})).toBe("/var/run/docker.sock");
  });
});

describe("the Docker runtime without an engine", () => {
  it("tells a server from a port that accepts and hangs up at once (Docker's userland proxy with nothing behind it)", async () => {
    const listen = (onConnection: (socket: net.Socket) => void) =>
      new Promise<net.Server>((resolve) => {
        const server = net.createServer(onConnection).listen(0, "127.0.0.1", () => resolve(server));
      });
    const port = (server: net.Server) => (server.address() as net.AddressInfo).port;
    const holds = await listen(() => undefined);
    const hangsUp = await listen((socket) => socket.destroy());
    const greets = await listen((socket) => socket.end("hello\n"));
    const closed = await listen(() => undefined);
    const closedPort = port(closed);
    await new Promise((resolve) => closed.close(resolve));
    try {
      expect(await acceptsConnections(port(holds))).toBe(true);
      expect(await acceptsConnections(port(hangsUp))).toBe(false);
      expect(await acceptsConnections(port(greets))).toBe(true);
      expect(await acceptsConnections(closedPort)).toBe(false);
    } finally {
      for (const server of [holds, hangsUp, greets]) {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });

  it("refuses a lease with a readable reason when no engine answers on the socket", async () => {
    const runtime = new DockerRuntime({ socketPath: path.join(os.tmpdir(), `gpumesh-no-docker-${randomUUID()}.sock`), deviceId: randomUUID(), image: () => "acme/service:1", gpus: false });
    // It runs renters' images (what its agent tells the gateway), whether or not an engine answers now.
    expect(runtime.runsImages).toBe(true);
    await expect(runtime.start(assignment())).rejects.toThrow("Docker is not reachable on this machine (ENOENT)");
    await expect(runtime.stop(randomUUID())).rejects.toThrow("Docker is not reachable on this machine (ENOENT)");
    expect(runtime.running()).toEqual([]);
  });
});

const podmanInstalled = spawnSync("podman", ["--version"], { stdio: "ignore" }).status === 0;
if (!podmanInstalled) console.warn("docker-runtime.test.ts: podman is not installed, so the Docker runtime is not tested against a real engine (.ci/run installs it)");

/** GET a URL without keep-alive (busybox httpd), resolving with status and body. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

async function until<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A workload in the busybox image: writes its allocation id as the page, one line to each stream, then
// serves it with busybox httpd on $PORT; the shell (PID 1) exits on SIGTERM.
const SERVE = [
  "sh",
  "-c",
  'mkdir -p /www; echo "$GPUMESH_ALLOCATION_ID" > /www/index.html; echo "serving $GPUMESH_ALLOCATION_ID on $PORT"; echo "a line on stderr" >&2; trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & wait',
];

// A stand-in for Ray's CLI (no Ray image can be pulled here): `ray start --head --port=P` answers on its
// GCS port P and on the dashboard port, then says what Ray says; `ray start --address=host:port` asks
// the head's GCS port for a reply through that address, and fails as Ray would when nothing answers.
const FAKE_RAY = `#!/bin/sh
echo "ray $*"
trap "exit 0" TERM
case " $* " in
*" --head "*)
  gcs=$(echo " $* " | sed -n 's/.* --port=\\([0-9]*\\) .*/\\1/p')
  mkdir -p /www && echo "head $GPUMESH_ALLOCATION_ID" > /www/index.html
  httpd -p "$gcs" -h /www && httpd -p 8265 -h /www
  echo "Ray runtime started."
  sleep 600 & wait ;;
*)
  address=$(echo " $* " | sed -n 's/.* --address=\\([^ ]*\\) .*/\\1/p')
  reply=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "\${address%:*}" "\${address##*:}" | tail -n 1)
  [ -n "$reply" ] || { echo "could not reach the head at $address" >&2; exit 1; }
  echo "reached $reply"
  echo "Ray runtime started."
  sleep 600 & wait ;;
esac
`;
const FAKE_RAY_IMAGE = "localhost/gpumesh-fake-ray:test";

/** An address of this machine that its containers can reach (not loopback: theirs is their own). */
const hostAddress = () => Object.values(os.networkInterfaces()).flat().find((entry) => entry?.family === "IPv4" && !entry.internal)?.address;

const engineSuite = `DockerRuntime against Podman's Docker Engine API${podmanInstalled ? "" : " (skipped: podman is not installed)"}`;
describe.skipIf(!podmanInstalled)(engineSuite, () => {
  let service: ChildProcess;
  let dir: string;
  let socketPath: string;
  let docker: Docker;
  const deviceId = randomUUID();
  const created: string[] = [];

  const runtime = (options: Partial<ConstructorParameters<typeof DockerRuntime>[0]> = {}) =>
    new DockerRuntime({ socketPath, deviceId, image: () => IMAGE, command: SERVE, gpus: false, stopTimeoutS: 2, ...options });
  const ofAllocation = (allocationId: string) => docker.listContainers({ all: true, filters: { label: [`${LABELS.allocation}=${allocationId}`] } });

  beforeAll(async () => {
    const image = spawnSync("bash", [path.join(root, "scripts/podman-test-image.sh"), IMAGE], { encoding: "utf8" });
    if (image.status !== 0) throw new Error(`scripts/podman-test-image.sh failed: ${image.stderr}`);
    dir = mkdtempSync(path.join(os.tmpdir(), "gpumesh-podman-"));
    socketPath = path.join(dir, "podman.sock");
    service = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    service.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    docker = new Docker({ socketPath });
    const up = await until(
      () => docker.ping().then(() => true, () => false),
      (ok) => ok || service.exitCode !== null,
      20_000,
    );
    if (!up) throw new Error(`podman system service did not answer on ${socketPath}: ${stderr}`);
    // The busybox image with the stand-in `ray` (built once, locally, like the image itself).
    if (spawnSync("podman", ["image", "exists", FAKE_RAY_IMAGE]).status !== 0) {
      writeFileSync(path.join(dir, "ray"), FAKE_RAY);
      chmodSync(path.join(dir, "ray"), 0o755);
      writeFileSync(path.join(dir, "Containerfile"), `FROM ${IMAGE}\nCOPY ray /bin/ray\n`);
      const built = spawnSync("podman", ["build", "--pull=never", "-q", "-t", FAKE_RAY_IMAGE, dir], { encoding: "utf8" });
      if (built.status !== 0) throw new Error(`could not build ${FAKE_RAY_IMAGE}: ${built.stderr}`);
    }
  });

  afterEach(async () => {
    // Whatever a failed test left: this run's device, and the containers the tests made directly.
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.device}=${deviceId}`] } });
    for (const id of [...leftovers.map((container) => container.Id), ...created.splice(0)]) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service.once("exit", resolve));
      service.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("tells whether an image is on this machine (what `doctor` checks for the images it never pulls)", async () => {
    expect(await imageOnHost(socketPath, IMAGE)).toBe(true);
    expect(await imageOnHost(socketPath, "localhost/gpumesh-never-built:none")).toBe(false);
    expect(await imageOnHost(path.join(dir, "no-engine.sock"), IMAGE)).toBeNull();
  });

  it("a bare-metal lease: the renter logs in as root over SSH with their key, in the lease's environment; any other key is refused", async () => {
    const built = spawnSync("bash", [path.join(root, "scripts/podman-machine-image.sh"), MACHINE_TEST_IMAGE], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`scripts/podman-machine-image.sh failed: ${built.stderr}`);
    const keys = mkdtempSync(path.join(os.tmpdir(), "gpumesh-ssh-"));
    try {
      for (const name of ["renter", "stranger"]) {
        const made = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path.join(keys, name)], { encoding: "utf8" });
        if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
      }
      const sshPublicKey = readFileSync(path.join(keys, "renter.pub"), "utf8").trim();
      // The supplier's --command must not replace the machine's SSH server.
      const machines = runtime({ image: (lease) => (lease.clusterType === "BARE_METAL" ? MACHINE_TEST_IMAGE : IMAGE), command: ["sleep", "600"] });
      const lease = assignment({ deviceId, clusterType: "BARE_METAL", gpuCount: 8, workload: { sshPublicKey, env: { WANDB_PROJECT: "llama-ft" } } });

      const { endpoints } = await machines.start(lease);
      expect(endpoints).toEqual([{ kind: "ssh", url: expect.stringMatching(/^ssh:\/\/root@127\.0\.0\.1:\d+$/) }]);
      const port = new URL(endpoints[0]!.url).port;
      const ssh = (key: string, command: string) =>
        spawnSync("ssh", ["-i", path.join(keys, key), "-p", port, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "root@127.0.0.1", command], { encoding: "utf8", timeout: 30_000 });

      const session = ssh("renter", 'echo "$(id -u) $GPUMESH_CLUSTER_TYPE $GPUMESH_GPU_COUNT $WANDB_PROJECT $GPUMESH_ALLOCATION_ID"');
      expect(session.status, session.stderr).toBe(0);
      expect(session.stdout.trim()).toBe(`0 BARE_METAL 8 llama-ft ${lease.allocationId}`);

      const stranger = ssh("stranger", "id -u");
      expect(stranger.status).toBe(255);
      expect(stranger.stderr).toContain("Permission denied (publickey)");

      await machines.stop(lease.allocationId);
      expect(await ofAllocation(lease.allocationId)).toEqual([]);
      // Gone with the lease: nothing answers on its port.
      expect(await acceptsConnections(Number(port))).toBe(false);
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  }, 60_000);

  it("runs a lease as a labelled container with its environment, serving on a published port, with its output", async () => {
    const docker_ = runtime({ advertiseHost: "127.0.0.1" });
    const logs: [string, string][] = [];
    docker_.onLog((allocationId, lines) => logs.push(...lines.map((line): [string, string] => [allocationId, line])));
    const lease = assignment({ deviceId, gpuCount: 2 });

    const workload = await docker_.start(lease);
    expect(docker_.running()).toEqual([lease.allocationId]);
    expect(workload.endpoints).toHaveLength(1);
    expect(workload.endpoints[0]!.kind).toBe("url");
    expect(workload.endpoints[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const info = await docker.getContainer(`gpumesh-${lease.allocationId}`).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels).toMatchObject({ [LABELS.agent]: "1", [LABELS.device]: deviceId, [LABELS.allocation]: lease.allocationId, [LABELS.cluster]: lease.clusterId });
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([
        "PORT=8080",
        `GPUMESH_ALLOCATION_ID=${lease.allocationId}`,
        `GPUMESH_CLUSTER_ID=${lease.clusterId}`,
        "GPUMESH_CLUSTER_TYPE=CONTAINER",
        "GPUMESH_GPU_COUNT=2",
        `GPUMESH_ENDS_AT=${lease.endsAt}`,
      ]),
    );

    // The published port reaches the workload, which knows its allocation.
    const page = await get(workload.endpoints[0]!.url);
    expect(page).toEqual({ status: 200, body: `${lease.allocationId}\n` });

    // stdout and stderr, demultiplexed into lines.
    const seen = await until(
      () => logs.filter(([id]) => id === lease.allocationId).map(([, line]) => line),
      (lines) => lines.length >= 2,
    );
    expect(seen).toEqual(expect.arrayContaining([`serving ${lease.allocationId} on 8080`, "a line on stderr"]));

    // A second start of the same allocation (the gateway re-sends) changes nothing.
    expect(await docker_.start(lease)).toEqual(workload);

    await docker_.stop(lease.allocationId);
    expect(docker_.running()).toEqual([]);
    await expect(docker.getContainer(info.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await ofAllocation(lease.allocationId)).toEqual([]);
    // Stopping again (or concurrently) is fine; stopping an allocation never started too.
    await docker_.stop(lease.allocationId);
    await Promise.all([docker_.stop(lease.allocationId), docker_.stop(lease.allocationId), docker_.stop(randomUUID())]);
    expect(logs.filter(([, line]) => line.startsWith("container exited"))).toEqual([]);
  });

  it("runs a renter's workload: its image, command and env, each of its ports reported (port 22 as ssh)", async () => {
    const docker_ = runtime({ image: () => "acme/the-suppliers-default:never-used" });
    const lease = assignment({
      deviceId,
      workload: {
        image: IMAGE,
        command: ["sh", "-c", 'mkdir -p /www; echo "$GREETING" > /www/index.html; trap "exit 0" TERM; httpd -f -p "$PORT" -h /www & httpd -f -p 22 -h /www & wait'],
        env: { GREETING: "hello from the renter" },
        ports: [9000, 22],
      },
    });
    const { endpoints } = await docker_.start(lease);
    expect(endpoints.map((endpoint) => endpoint.kind)).toEqual(["url", "ssh"]);
    expect(endpoints[1]!.url).toMatch(/^ssh:\/\/root@127\.0\.0\.1:\d+$/);
    expect(await get(endpoints[0]!.url)).toEqual({ status: 200, body: "hello from the renter\n" });
    const info = await docker.getContainer(`gpumesh-${lease.allocationId}`).inspect();
    expect(info.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello from the renter", "PORT=9000"]));
    await docker_.stop(lease.allocationId);
  });

  it("pulls a renter's image it lacks (a reason when it cannot), or refuses it outright on a machine that must not pull", async () => {
    const lease = () => assignment({ deviceId, workload: { image: "localhost:1/nobody/missing:1" } });
    await expect(runtime().start(lease())).rejects.toThrow(/^could not pull image localhost:1\/nobody\/missing:1: /);
    await expect(runtime({ pull: "never" }).start(lease())).rejects.toThrow("image localhost:1/nobody/missing:1 is not available on this machine");
  });

  it("reports a RAY lease's URL as its Ray dashboard too", async () => {
    const docker_ = runtime();
    const lease = assignment({ deviceId, clusterType: "RAY" });
    const { endpoints } = await docker_.start(lease);
    expect(endpoints.map((endpoint) => endpoint.kind)).toEqual(["url", "ray-dashboard"]);
    expect(endpoints[1]!.url).toBe(endpoints[0]!.url);
    await docker_.stop(lease.allocationId);
  });

  it("runs a Ray head and a worker that joins it through the head's published GCS port (a stand-in `ray`: no Ray image offline)", async () => {
    const host = hostAddress();
    if (!host) throw new Error("this machine has no non-loopback IPv4 address for containers to reach it by");
    // The supplier's default command (SERVE) is not what a Ray node runs: the role decides.
    const docker_ = runtime({ image: () => FAKE_RAY_IMAGE, advertiseHost: host, shmBytes: 256 * 1024 ** 2 });
    const logs: string[] = [];
    docker_.onLog((_id, lines) => logs.push(...lines));
    const clusterId = randomUUID();
    const head = assignment({ deviceId, clusterId, clusterType: "RAY", ray: { role: "head" } });

    const { endpoints } = await docker_.start(head);
    expect(endpoints.map((endpoint) => endpoint.kind)).toEqual(["url", "ray-dashboard", "ray-head"]);
    const address = endpoints.find((endpoint) => endpoint.kind === "ray-head")!.url;
    expect(address).toMatch(new RegExp(`^${host.replaceAll(".", "\\.")}:\\d+$`));
    expect(await get(endpoints[1]!.url)).toEqual({ status: 200, body: `head ${head.allocationId}\n` });
    const headInfo = await docker.getContainer(`gpumesh-${head.allocationId}`).inspect();
    expect(headInfo.Config.Cmd).toEqual(["ray", "start", "--head", "--port=6379", "--dashboard-host=0.0.0.0", "--num-gpus=0", "--block"]);
    expect(headInfo.Config.Env).toEqual(expect.arrayContaining(["PORT=8265", "GPUMESH_RAY_ROLE=head"]));
    expect(headInfo.HostConfig.ShmSize).toBe(256 * 1024 ** 2);
    expect(Object.keys(headInfo.NetworkSettings.Ports).sort()).toEqual(["6379/tcp", "8265/tcp"]);

    const worker = assignment({ deviceId, clusterId, clusterType: "RAY", ray: { role: "worker", headAllocationId: head.allocationId } });
    // Running once its output says Ray started, which the stand-in says only after the head answered.
    expect(await docker_.start(worker, { rayHeadAddress: address })).toEqual({ endpoints: [] });
    expect(logs).toEqual(expect.arrayContaining([`reached head ${head.allocationId}`, "Ray runtime started."]));
    const workerInfo = await docker.getContainer(`gpumesh-${worker.allocationId}`).inspect();
    expect(workerInfo.Config.Cmd).toEqual(["ray", "start", `--address=${address}`, "--num-gpus=0", "--block"]);
    expect(workerInfo.Config.Env).toEqual(expect.arrayContaining(["GPUMESH_RAY_ROLE=worker", `GPUMESH_RAY_HEAD_ADDRESS=${address}`]));
    expect(workerInfo.Config.Env!.some((entry) => entry.startsWith("PORT="))).toBe(false);
    expect(docker_.running().sort()).toEqual([head.allocationId, worker.allocationId].sort());

    // A worker whose head does not answer is refused, and its container goes.
    const stray = assignment({ deviceId, clusterId, clusterType: "RAY", ray: { role: "worker", headAllocationId: randomUUID() } });
    await expect(docker_.start(stray, { rayHeadAddress: `${host}:1` })).rejects.toThrow("the container exited with code 1 before serving");
    expect(await ofAllocation(stray.allocationId)).toEqual([]);

    await docker_.stop(worker.allocationId);
    await docker_.stop(head.allocationId);
    expect(docker_.running()).toEqual([]);
  });

  it("reports a container that exits on its own, and stop() still removes it", async () => {
    const docker_ = runtime({ command: ["sh", "-c", 'httpd -p "$PORT" -h /; echo "working"; sleep 2; echo "done" >&2; exit 3'] });
    const logs: string[] = [];
    docker_.onLog((_id, lines) => logs.push(...lines));
    const lease = assignment({ deviceId });
    await docker_.start(lease);
    const lines = await until(
      () => logs,
      (all) => all.some((line) => line.startsWith("container exited")),
      15_000,
    );
    expect(lines).toEqual(["working", "done", "container exited with code 3"]);
    expect(docker_.running()).toEqual([]);
    expect(await ofAllocation(lease.allocationId)).toHaveLength(1);
    await docker_.stop(lease.allocationId);
    expect(await ofAllocation(lease.allocationId)).toEqual([]);
  });

  it("refuses a missing image with a reason a renter can read, creating nothing", async () => {
    const lease = assignment({ deviceId });
    await expect(runtime({ image: () => "localhost/gpumesh-no-such-image:none" }).start(lease)).rejects.toThrow("image localhost/gpumesh-no-such-image:none is not available on this machine");
    expect(await ofAllocation(lease.allocationId)).toEqual([]);
  });

  it("refuses a workload that exits before serving, and removes its container", async () => {
    const docker_ = runtime({ command: ["sh", "-c", "echo 'cannot start' >&2; exit 7"] });
    const lease = assignment({ deviceId });
    await expect(docker_.start(lease)).rejects.toThrow("the container exited with code 7 before serving");
    expect(docker_.running()).toEqual([]);
    expect(await ofAllocation(lease.allocationId)).toEqual([]);
  });

  it("refuses a workload that never listens within the start timeout, and removes its container", async () => {
    const docker_ = runtime({ command: ["sleep", "60"], startTimeoutS: 2, stopTimeoutS: 1 });
    const lease = assignment({ deviceId });
    await expect(docker_.start(lease)).rejects.toThrow("the container did not accept connections on its port within 2 s");
    expect(await ofAllocation(lease.allocationId)).toEqual([]);
  });

  it("reconcile() removes only this device's orphans: never another device's, an unlabelled one, a kept lease or a running one", async () => {
    const sleeper = async (labels: Record<string, string>) => {
      const container = await docker.createContainer({ Image: IMAGE, Cmd: ["sh", "-c", 'trap "exit 0" TERM; sleep 600 & wait'], Labels: labels, StopTimeout: 1 });
      await container.start();
      created.push(container.id);
      return container.id;
    };
    const ours = (allocationId: string) => ({ [LABELS.agent]: "1", [LABELS.device]: deviceId, [LABELS.allocation]: allocationId, [LABELS.cluster]: randomUUID() });
    const orphan = randomUUID();
    const stoppedOrphan = randomUUID();
    const kept = randomUUID();
    const orphanId = await sleeper(ours(orphan));
    const stoppedOrphanId = await sleeper(ours(stoppedOrphan));
    await docker.getContainer(stoppedOrphanId).stop({ t: 0 });
    // The kept lease's container, as an earlier agent process created it.
    const keptContainer = await docker.createContainer(containerSpec(assignment({ allocationId: kept, deviceId, clusterType: "RAY" }), { deviceId, image: IMAGE, command: SERVE, gpus: false }));
    await keptContainer.start();
    created.push(keptContainer.id);
    const keptId = keptContainer.id;
    const otherDeviceId = await sleeper({ ...ours(randomUUID()), [LABELS.device]: randomUUID() });
    const unlabelledId = await sleeper({});
    const notAgentId = await sleeper({ [LABELS.device]: deviceId, [LABELS.allocation]: randomUUID() });

    const docker_ = runtime();
    const lease = assignment({ deviceId });
    await docker_.start(lease);

    const removed = await docker_.reconcile([kept]);
    expect(removed.sort()).toEqual([orphan, stoppedOrphan].sort());
    for (const id of [orphanId, stoppedOrphanId]) await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    for (const id of [keptId, otherDeviceId, unlabelledId, notAgentId]) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    expect((await ofAllocation(lease.allocationId))[0]?.State).toBe("running");
    // The kept lease's container is this runtime's again: running(), and stop() removes it.
    expect(docker_.running().sort()).toEqual([lease.allocationId, kept].sort());
    expect(await docker_.reconcile([kept])).toEqual([]);
    // Its endpoints are known again, and it serves on them.
    const adopted = await docker_.start(assignment({ allocationId: kept, deviceId, clusterType: "RAY" }));
    expect(adopted.endpoints.map((endpoint) => endpoint.kind)).toEqual(["url", "ray-dashboard"]);
    expect(await get(adopted.endpoints[0]!.url)).toEqual({ status: 200, body: `${kept}\n` });

    await docker_.stop(kept);
    await docker_.stop(lease.allocationId);
    await expect(docker.getContainer(keptId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    for (const id of [otherDeviceId, unlabelledId, notAgentId]) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
  });
});
