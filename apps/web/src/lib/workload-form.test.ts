import { Workload } from "@gpumesh/core";
import { describe, expect, it } from "vitest";
import { commandArgv, EMPTY_WORKLOAD, machineWorkload, workloadBody } from "./workload-form.ts";

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
      command: ["python", "-c", "import torch; print(torch.cuda.device_count())"],
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

  it("runs a command directly, as its arguments, unless it needs a shell", () => {
    expect(commandArgv('torchrun --nproc-per-node 8 "train dir/train.py" --lr=3e-4')).toEqual({ ok: true, shell: false, argv: ["torchrun", "--nproc-per-node", "8", "train dir/train.py", "--lr=3e-4"] });
    expect(commandArgv("echo 'it''s' a\\ b")).toEqual({ ok: true, shell: false, argv: ["echo", "its", "a b"] });
    // What only a shell does: run by sh -c, whole and unchanged.
    for (const line of ["pip install -r req.txt && python train.py", "python train.py | tee log", "python train.py > out.txt", "ls *.py", "echo $HOME", "echo ${EPOCHS}", "echo $(date)", "echo `date`", "python train.py # the default"]) {
      expect(commandArgv(line)).toEqual({ ok: true, shell: true, argv: ["sh", "-c", line] });
    }
    // Quoted, the same characters are plain arguments.
    expect(commandArgv("echo '$HOME' 'a|b' '*.py'")).toEqual({ ok: true, shell: false, argv: ["echo", "$HOME", "a|b", "*.py"] });
  });

  it("says what is wrong with a command", () => {
    expect(commandArgv("python -c 'print(1)")).toEqual({ ok: false, problem: "Command: a single quote is not closed." });
    expect(commandArgv('echo "a')).toEqual({ ok: false, problem: "Command: a double quote is not closed." });
    expect(commandArgv("''")).toEqual({ ok: false, problem: "Command: name the program to run." });
    expect(commandArgv(Array.from({ length: 65 }, (_, i) => `a${i}`).join(" "))).toMatchObject({ ok: false });
    expect(workloadBody({ ...EMPTY_WORKLOAD, image: "app", command: "echo 'x" }).problem).toBe("Command: a single quote is not closed.");
  });
});

describe("machineWorkload (a bare-metal node)", () => {
  it("is the SSH key alone, trimmed; without one it says what to paste", () => {
    expect(machineWorkload("  ssh-ed25519 AAAAC3Nza me@laptop\n")).toEqual({ workload: { sshPublicKey: "ssh-ed25519 AAAAC3Nza me@laptop" }, problem: null });
    expect(machineWorkload(" \n")).toEqual({ workload: undefined, problem: "Paste your SSH public key: it is how you log in to a bare-metal node." });
  });
});
