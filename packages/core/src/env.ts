import { z } from "zod";

/** A missing or invalid environment variable, named in one line. */
export class EnvError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "EnvError";
  }
}

/**
 * Validates an app's environment against its zod schema. Throws EnvError naming the first bad or
 * missing variable; apps print that line and exit 1 at start, before opening any connection.
 */
export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, source: Record<string, string | undefined>): z.infer<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? "environment");
  const missing = issue.code === "invalid_type" && source[variable] === undefined;
  throw new EnvError(variable, missing ? "is required but not set (see .env.example)" : `${issue.message} (got "${source[variable] ?? ""}")`);
}

/** Shared env field helpers. */
export const envFields = {
  postgresUrl: z.string().regex(/^postgres(ql)?:\/\/.+/, "must be a postgresql:// URL"),
  redisUrl: z.string().regex(/^rediss?:\/\/.+/, "must be a redis:// URL"),
  port: z.coerce.number().int().min(1, "must be a port number 1-65535").max(65_535, "must be a port number 1-65535"),
  positiveInt: z.coerce.number().int().positive("must be a positive integer"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

/**
 * A 32-byte secret key given as base64 (`openssl rand -base64 32`), such as WORKLOAD_SECRETS_KEY. Checked
 * here rather than in a zod shape so that the error line never echoes the value. Unset: undefined, or
 * an EnvError where `required` says why it may not be.
 */
export function secretKeyFromEnv(variable: string, value: string | undefined, required: string | false): Uint8Array | undefined {
  if (value === undefined || value === "") {
    if (required) throw new EnvError(variable, `is required ${required} (32 random bytes in base64: openssl rand -base64 32)`);
    return undefined;
  }
  const bytes = Buffer.from(value, "base64");
  // Buffer.from skips what is not base64: re-encoding tells a real 32-byte key from anything else.
  if (bytes.length !== 32 || bytes.toString("base64") !== value.trim()) throw new EnvError(variable, "must be 32 bytes in base64 (openssl rand -base64 32); the value is not shown");
  return new Uint8Array(bytes);
}
