import { readFileSync } from "node:fs";

export const AGENT_VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0.1.0";

const colour = (code: number) => (text: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[${code}m${text}\x1b[0m` : text);
export const paint = { red: colour(31), green: colour(32), yellow: colour(33), dim: colour(2), bold: colour(1) };
