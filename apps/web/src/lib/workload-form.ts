/**
 * The deploy form's workload fields as typed, turned into the API's `workload` (core Workload), or the
 * first problem a person should fix. The server checks everything again and names the field; this
 * only catches what the form itself can see (a line without "=", a port that is not a number).
 */
export interface WorkloadFields {
  image: string;
  /** One shell line; runs as `sh -c <line>` (empty: the image's own command). */
  command: string;
  /** KEY=value, one per line. */
  env: string;
  /** Comma- or space-separated port numbers. */
  ports: string;
  sshPublicKey: string;
}

export const EMPTY_WORKLOAD: WorkloadFields = { image: "", command: "", env: "", ports: "", sshPublicKey: "" };

export interface WorkloadBody {
  image: string;
  command?: string[];
  env?: Record<string, string>;
  ports?: number[];
  sshPublicKey?: string;
}

export function workloadBody(fields: WorkloadFields): { workload: WorkloadBody | undefined; problem: string | null } {
  const image = fields.image.trim();
  const rest = [fields.command, fields.env, fields.ports, fields.sshPublicKey].some((value) => value.trim() !== "");
  if (!image) return { workload: undefined, problem: rest ? "Name a container image to set a command, environment, ports or an SSH key." : null };
  const workload: WorkloadBody = { image };
  if (fields.command.trim()) workload.command = ["sh", "-c", fields.command.trim()];
  const env: Record<string, string> = {};
  for (const [index, raw] of fields.env.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const at = line.indexOf("=");
    if (at <= 0) return { workload: undefined, problem: `Environment line ${index + 1}: write it as KEY=value.` };
    const name = line.slice(0, at).trim();
    if (name in env) return { workload: undefined, problem: `Environment line ${index + 1}: ${name} is set twice.` };
    env[name] = line.slice(at + 1);
  }
  if (Object.keys(env).length) workload.env = env;
  const ports = fields.ports.split(/[\s,]+/).filter(Boolean);
  for (const port of ports) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return { workload: undefined, problem: `Ports: ${port} is not a port number (1–65535).` };
  }
  if (ports.length) workload.ports = ports.map(Number);
  if (fields.sshPublicKey.trim()) workload.sshPublicKey = fields.sshPublicKey.trim();
  return { workload, problem: null };
}
