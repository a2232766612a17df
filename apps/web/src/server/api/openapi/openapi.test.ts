import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { errorCodesOf, openApiJson } from "./document.ts";
import { operations } from "./operations.ts";

const web = fileURLToPath(new URL("../../../../", import.meta.url));
const v1 = path.join(web, "src/app/api/v1");

/** Every `export … GET|POST|…` in every route.ts under app/api/v1, as "METHOD /api/v1/path/{param}". */
function routeHandlers(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "route.ts") {
        const route = `/api/v1/${path.relative(v1, dir).split(path.sep).join("/")}`.replace(/\/$/, "").replace(/\[([^\]]+)\]/g, "{$1}");
        const source = readFileSync(full, "utf8");
        for (const match of source.matchAll(/export\s+(?:const|async\s+function|function)\s+(GET|POST|PUT|PATCH|DELETE)\b/g)) found.push(`${match[1]} ${route}`);
      }
    }
  };
  walk(v1);
  return found.sort();
}

describe("the OpenAPI document", () => {
  it("apps/web/openapi.json is the one the operations table generates (run `pnpm --filter @gpumesh/web openapi`)", () => {
    const committed = readFileSync(path.join(web, "openapi.json"), "utf8");
    expect(committed === openApiJson(), "apps/web/openapi.json is stale: run `pnpm --filter @gpumesh/web openapi` and commit it").toBe(true);
  });

  it("documents every route handler under /api/v1, and nothing that has none", () => {
    const documented = operations.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
    const handlers = routeHandlers();
    expect(handlers.length).toBeGreaterThan(20);
    expect(handlers.filter((h) => !documented.includes(h)), "route handlers missing from server/api/openapi/operations.ts").toEqual([]);
    expect(documented.filter((d) => !handlers.includes(d)), "operations with no route handler").toEqual([]);
  });

  it("names each operation once and declares exactly its path's parameters", () => {
    expect(new Set(operations.map((op) => op.id)).size).toBe(operations.length);
    expect(new Set(operations.map((op) => `${op.method} ${op.path}`)).size).toBe(operations.length);
    for (const op of operations) {
      const placeholders = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(Object.keys(op.params?.shape ?? {}).sort(), op.id).toEqual(placeholders);
    }
  });

  it("implies the wrapper's errors from each row: keyed routes can be refused a key, session-only routes refuse keys", () => {
    const byId = new Map(operations.map((op) => [op.id, op]));
    expect(errorCodesOf(byId.get("listClusters")!)).toEqual(expect.arrayContaining(["UNAUTHENTICATED", "INVALID_API_KEY", "RATE_LIMITED", "VALIDATION"]));
    expect(errorCodesOf(byId.get("createApiKey")!)).toEqual(expect.arrayContaining(["FORBIDDEN", "UNAUTHENTICATED", "BAD_REQUEST", "PAYLOAD_TOO_LARGE", "VALIDATION", "CONFLICT"]));
    expect(errorCodesOf(byId.get("createApiKey")!)).not.toContain("INVALID_API_KEY");
    expect(errorCodesOf(byId.get("getNetworkSummary")!)).toEqual(["RATE_LIMITED"]);
  });
});
