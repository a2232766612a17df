import { parse } from "shell-quote";

/**
 * The deploy form's workload fields as typed, turned into the API's `workload` (core Workload), or the
 * first problem a person should fix. The server checks everything again and names the field; this
 * only catches what the form itself can see (a line without "=", a port that is not a number).
 */
export interface WorkloadFields {
  image: string;
  /** One line as in a shell; see `commandArgv` (empty: the image's own command). */
  command: string;
  /** KEY=value, one per line. */
  env: string;
  /** Comma- or space-separated port numbers. */
  ports: string;
  sshPublicKey: string;
}

export const EMPTY_WORKLOAD: WorkloadFields = { image: "", command: "", env: "", ports: "", sshPublicKey: "" };

export interface WorkloadBody {
  image?: string;
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
  if (fields.command.trim()) {
    const command = commandArgv(fields.command);
    if (!command.ok) return { workload: undefined, problem: command.problem };
    workload.command = command.argv;
  }
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

/**
 * A bare-metal node's workload: only the renter's SSH public key (its node runs the suppliers' machine
 * image). The server checks the key's form and names the field; this only says it is missing.
 */
export function machineWorkload(sshPublicKey: string): { workload: WorkloadBody | undefined; problem: string | null } {
  const key = sshPublicKey.trim();
  return key ? { workload: { sshPublicKey: key }, problem: null } : { workload: undefined, problem: "Paste your SSH public key: it is how you log in to a bare-metal node." };
}

/**
 * A command line as people write it, as Docker runs CMD: split into arguments with shell quoting rules
 * and run directly (exec form: no shell needed in the image, signals reach the program), unless it uses
 * what only a shell can do — pipes, `&&`, redirections, globs, `$VARIABLES`, comments — in which case
 * it runs as `sh -c <line>` (shell form: the image needs /bin/sh). `shell` says which one it is.
 */
export function commandArgv(line: string): { ok: true; argv: string[]; shell: boolean } | { ok: false; problem: string } {
  const text = line.trim();
  const open = unclosedQuote(text);
  if (open) return { ok: false, problem: `Command: a ${open} quote is not closed.` };
  let variables = false;
  const entries = parse(text, (name: string) => {
    variables = true;
    return `$${name}`;
  });
  if (/`|\$\(/.test(text) || variables || entries.some((entry) => typeof entry !== "string")) return { ok: true, argv: ["sh", "-c", text], shell: true };
  const argv = entries as string[];
  if (argv.length === 0 || argv[0] === "") return { ok: false, problem: "Command: name the program to run." };
  if (argv.length > 64) return { ok: false, problem: "Command: at most 64 arguments (use a script in the image for more)." };
  return { ok: true, argv, shell: false };
}

/** The quote left open at the end of `text` (shell-quote silently closes it), or null. */
function unclosedQuote(text: string): "single" | "double" | null {
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === "\\") i++;
    else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') quote = c;
  }
  return quote === "'" ? "single" : quote === '"' ? "double" : null;
}
