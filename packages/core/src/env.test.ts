import { describe, expect, it } from "vitest";
import { EnvError, envFields, parseEnv, secretKeyFromEnv } from "./env.ts";

const shape = { DATABASE_URL: envFields.postgresUrl, PORT: envFields.port.default(3000) };

describe("parseEnv", () => {
  it("parses and applies defaults", () => {
    expect(parseEnv(shape, { DATABASE_URL: "postgresql://u:p@h/db" })).toEqual({ DATABASE_URL: "postgresql://u:p@h/db", PORT: 3000 });
  });

  it("names a missing variable", () => {
    expect(() => parseEnv(shape, {})).toThrow(new EnvError("DATABASE_URL", "is required but not set (see .env.example)"));
  });

  it("names an invalid variable and shows the value", () => {
    expect(() => parseEnv(shape, { DATABASE_URL: "mysql://x", PORT: "3000" })).toThrow(/^DATABASE_URL: must be a postgresql:\/\/ URL \(got "mysql:\/\/x"\)$/);
    expect(() => parseEnv(shape, { DATABASE_URL: "postgres://x", PORT: "99999" })).toThrow(/^PORT: must be a port number/);
  });
});

describe("secretKeyFromEnv", () => {
  const key = Buffer.alloc(32, 7).toString("base64");

  it("decodes a 32-byte base64 key; unset is undefined unless required", () => {
    expect(secretKeyFromEnv("WORKLOAD_SECRETS_KEY", key, false)).toEqual(new Uint8Array(32).fill(7));
    expect(secretKeyFromEnv("WORKLOAD_SECRETS_KEY", undefined, false)).toBeUndefined();
    expect(() => secretKeyFromEnv("WORKLOAD_SECRETS_KEY", undefined, "in production")).toThrow(
      new EnvError("WORKLOAD_SECRETS_KEY", "is required in production (32 random bytes in base64: openssl rand -base64 32)"),
    );
  });

  it("refuses anything else without echoing it", () => {
    for (const bad of ["short-secret-value", Buffer.alloc(31).toString("base64"), Buffer.alloc(33).toString("base64"), `${key}!!`]) {
      let message = "";
      try {
        secretKeyFromEnv("WORKLOAD_SECRETS_KEY", bad, false);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe("WORKLOAD_SECRETS_KEY: must be 32 bytes in base64 (openssl rand -base64 32); the value is not shown");
    }
  });
});
