import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { deviceKeyFromSecret, type DeviceKey } from "@gpumesh/agent-protocol";
import { z } from "zod";

/**
 * The agent's files, in GPUMESH_AGENT_HOME (default ~/.gpumesh): `device.json` holds the device key
 * (mode 0600, in a 0700 directory: whoever reads it can act as this device) and where it joined;
 * `state.json` is what `start` last saw, for `status`.
 */
export function agentHome(): string {
  return process.env.GPUMESH_AGENT_HOME ?? path.join(os.homedir(), ".gpumesh");
}

const DeviceFile = z.object({
  version: z.literal(1),
  deviceId: z.uuid(),
  gateway: z.string().url(),
  publicKey: z.string(),
  secretKey: z.string(),
  joinedAt: z.string(),
  name: z.string(),
  /** The network it joined: a gateway naming another audience is refused (a relayed sign-in). */
  audience: z.string().optional(),
});
export type DeviceFile = z.infer<typeof DeviceFile>;

export interface Identity {
  file: DeviceFile;
  key: DeviceKey;
}

export const deviceFilePath = (home = agentHome()) => path.join(home, "device.json");
export const stateFilePath = (home = agentHome()) => path.join(home, "state.json");

export async function saveIdentity(file: DeviceFile, home = agentHome()): Promise<string> {
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  const target = deviceFilePath(home);
  const temporary = `${target}.${process.pid}.tmp`;
  // Written with 0600 from the first byte (not chmod after), then renamed into place.
  await fs.writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(temporary, target);
  return target;
}

export class IdentityError extends Error {}

export async function loadIdentity(home = agentHome()): Promise<Identity> {
  const target = deviceFilePath(home);
  let raw: string;
  try {
    raw = await fs.readFile(target, "utf8");
  } catch {
    throw new IdentityError(`no device key at ${target}: run \`gpumesh-agent join --token <token>\` first`);
  }
  const parsed = DeviceFile.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new IdentityError(`${target} is not a GPUMesh device file (${parsed.error.issues[0]?.message})`);
  const key = deviceKeyFromSecret(Buffer.from(parsed.data.secretKey, "base64"));
  if (key.publicKey !== parsed.data.publicKey) throw new IdentityError(`${target}: the secret key does not match the public key`);
  return { file: parsed.data, key };
}

/** Problems with the key file's permissions (group- or world-readable). */
export async function keyFileProblems(home = agentHome()): Promise<string[]> {
  try {
    const stat = await fs.stat(deviceFilePath(home));
    return stat.mode & 0o077 ? [`${deviceFilePath(home)} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`] : [];
  } catch {
    return [];
  }
}

export interface AgentState {
  deviceId: string;
  connected: boolean;
  since: string;
  lastHeartbeatAt?: string;
  rttMs?: number;
  skewMs?: number;
  running: string[];
  pid: number;
}

export async function saveState(state: AgentState, home = agentHome()): Promise<void> {
  const target = stateFilePath(home);
  await fs.writeFile(`${target}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  await fs.rename(`${target}.tmp`, target);
}

export async function loadState(home = agentHome()): Promise<AgentState | undefined> {
  try {
    return JSON.parse(await fs.readFile(stateFilePath(home), "utf8")) as AgentState;
  } catch {
    return undefined;
  }
}
