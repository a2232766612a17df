import { describe, expect, it } from "vitest";
import { CLUSTER_TYPES, ClusterRequest, NewClusterRequest } from "./cluster.ts";
import { ClusterType } from "./enums.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop";
const base = { name: "c", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["us-east"], durationHours: 2 };
/** The paths and messages of a refused request, or [] when it parses. */
const refusals = (input: unknown) => {
  const parsed = NewClusterRequest.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((issue) => [issue.path.join("."), issue.message]);
};

describe("NewClusterRequest: what can be rented today", () => {
  it("lists every cluster type once, and offers all but Kubernetes", () => {
    expect(CLUSTER_TYPES.map((entry) => entry.type).sort()).toEqual([...ClusterType.options].sort());
    expect(CLUSTER_TYPES.filter((entry) => !entry.offered).map((entry) => entry.type)).toEqual(["KUBERNETES"]);
  });

  it("refuses Kubernetes with the reason, naming `type`; the matcher still places an existing one", () => {
    expect(refusals({ ...base, type: "KUBERNETES" })).toEqual([["type", expect.stringContaining("Not offered yet")]]);
    expect(ClusterRequest.safeParse({ ...base, type: "KUBERNETES" }).success).toBe(true);
  });

  it("a bare-metal cluster needs the renter's SSH key, and runs the machine image as it is (no image, no command of the renter's)", () => {
    expect(refusals({ ...base, type: "BARE_METAL" })).toEqual([["workload.sshPublicKey", expect.stringContaining("SSH public key")]]);
    expect(refusals({ ...base, type: "BARE_METAL", workload: { sshPublicKey: KEY } })).toEqual([]);
    expect(refusals({ ...base, type: "BARE_METAL", workload: { sshPublicKey: KEY, env: { HF_TOKEN: "x" }, ports: [8888] } })).toEqual([]);
    expect(refusals({ ...base, type: "BARE_METAL", workload: { sshPublicKey: KEY, command: ["sleep", "1"] } })).toEqual([["workload.command", expect.stringContaining("SSH server")]]);
    expect(refusals({ ...base, type: "BARE_METAL", workload: { image: "acme/os:1", sshPublicKey: KEY } })).toEqual([["workload.image", expect.stringContaining("Containers cluster")]]);
  });

  it("every other workload names its image", () => {
    for (const type of ["RAY", "CONTAINER"]) {
      expect(refusals({ ...base, type, workload: { sshPublicKey: KEY } })).toEqual([["workload.image", "must name a container image"]]);
      expect(refusals({ ...base, type, workload: { image: "acme/app:1", sshPublicKey: KEY } })).toEqual([]);
      expect(refusals({ ...base, type })).toEqual([]);
    }
  });
});
