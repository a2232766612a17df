import { Workload } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import { EMPTY_WORKLOAD, workloadBody } from "./workload-form.ts";

describe("the deploy form's workload fields", () => {
  it("sends nothing when left empty (the suppliers' default runs), and asks for an image when only the rest is filled", () => {
    expect(workloadBody(EMPTY_WORKLOAD)).toEqual({ workload: undefined, problem: null });
    expect(workloadBody({ ...EMPTY_WORKLOAD, ports: "8888" }).problem).toBe("Name a container image to set a command, environment, ports or an SSH key.");
  });

  it("turns what people type into a body the API accepts", () => {
    const { workload, problem } = workloadBody({
      image: " pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime ",
      command: "python -c 'import torch; print(torch.cuda.device_count())'",
      env: "# secrets\nWANDB_API_KEY=abc=def\n\nEPOCHS = 3",
      ports: "8888, 22",
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop\n",
    });
    expect(problem).toBeNull();
    expect(workload).toEqual({
      image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
      command: ["sh", "-c", "python -c 'import torch; print(torch.cuda.device_count())'"],
      env: { WANDB_API_KEY: "abc=def", EPOCHS: " 3" },
      ports: [8888, 22],
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 me@laptop",
    });
    expect(Workload.safeParse(workload).success).toBe(true);
  });

  it("says which line or port is wrong", () => {
    expect(workloadBody({ ...EMPTY_WORKLOAD, image: "app", env: "A=1\nB" }).problem).toBe("Environment line 2: write it as KEY=value.");
    expect(workloadBody({ ...EMPTY_WORKLOAD, image: "app", env: "A=1\nA=2" }).problem).toBe("Environment line 2: A is set twice.");
    expect(workloadBody({ ...EMPTY_WORKLOAD, image: "app", ports: "80, http" }).problem).toBe("Ports: http is not a port number (1–65535).");
    expect(workloadBody({ ...EMPTY_WORKLOAD, image: "app", ports: "70000" }).problem).toBe("Ports: 70000 is not a port number (1–65535).");
  });
});
