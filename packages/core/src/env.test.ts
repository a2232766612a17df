import { describe, expect, it } from "vitest";
import { EnvError, envFields, parseEnv } from "./env.ts";

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
