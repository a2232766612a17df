import { describe, expect, it } from "vitest";
import { Workload, workloadView } from "./workload.ts";

const issues = (value: unknown) => {
  const result = Workload.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("Workload", () => {
  it("accepts the image references people paste", () => {
    for (const image of ["ubuntu", "ubuntu:24.04", "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "ghcr.io/org/app:1.2", "localhost:5000/team/app", `rayproject/ray@sha256:${"a".repeat(64)}`, "nvcr.io/nvidia/pytorch:24.10-py3"]) {
      expect(issues({ image }), image).toEqual([]);
    }
  });

  it("names the field of every bad input", () => {
    expect(issues({ image: "Ubuntu Latest" })[0]).toMatch(/^image: must be an image reference/);
    expect(issues({ image: "" })[0]).toMatch(/^image: must name a container image/);
    expect(issues({ image: "app", env: { GPUMESH_CLUSTER_ID: "x" } })[0]).toMatch(/^env\.GPUMESH_CLUSTER_ID: PORT and GPUMESH_\* are set by GPUMesh/);
    expect(issues({ image: "app", env: { PORT: "1" } })[0]).toMatch(/^env\.PORT:/);
    expect(issues({ image: "app", env: { "1BAD": "x" } })[0]).toMatch(/^env\.1BAD: names must be/);
    expect(issues({ image: "app", ports: [8080, 8080] })[0]).toMatch(/^ports: must not repeat/);
    expect(issues({ image: "app", ports: [0] })[0]).toMatch(/^ports\.0: must be 1–65535/);
    expect(issues({ image: "app", sshPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" })[0]).toMatch(/^sshPublicKey: must be one OpenSSH public key line/);
    expect(issues({ image: "app", command: [] })[0]).toMatch(/^command: must have at least the program/);
    expect(issues({ image: "app", gpus: 8 })[0]).toMatch(/Unrecognized key/);
    expect(issues({ image: "app", env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, "x"])) })[0]).toMatch(/^env: must have at most 64/);
  });

  it("accepts an ed25519 key with a comment, and shows env names but never their values", () => {
    const workload = Workload.parse({ image: "app:1", command: ["python", "train.py"], env: { WANDB_API_KEY: "secret", EPOCHS: "3" }, ports: [8888], sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop" });
    expect(workloadView(workload)).toEqual({ image: "app:1", command: ["python", "train.py"], envNames: ["EPOCHS", "WANDB_API_KEY"], ports: [8888], sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop" });
    expect(JSON.stringify(workloadView(workload))).not.toContain("secret");
  });
});
