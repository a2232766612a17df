/** Postgres error plumbing shared by the repositories. */
export const SQLSTATE = {
  exclusionViolation: "23P01",
  uniqueViolation: "23505",
  deadlock: "40P01",
  serializationFailure: "40001",
} as const;

const CHAIN_KEYS = ["cause", "meta", "driverAdapterError", "error"] as const;

function walk(error: unknown, visit: (record: Record<string, unknown>) => boolean): void {
  const seen = new Set<unknown>();
  const step = (value: unknown, depth: number): boolean => {
    if (value === null || typeof value !== "object" || seen.has(value) || depth > 6) return false;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (visit(record)) return true;
    return CHAIN_KEYS.some((key) => step(record[key], depth + 1));
  };
  step(error, 0);
}

/**
 * The SQLSTATE of a Postgres error however Prisma wrapped it: through the pg driver adapter it sits
 * in `meta.driverAdapterError.cause.originalCode` (or `.code` for kinds Prisma does not map), on a raw
 * pg error in `code`. We walk the usual places rather than depend on one Prisma version's shape;
 * Prisma's own codes (P2010…) are skipped.
 */
export function sqlState(error: unknown): string | undefined {
  let found: string | undefined;
  walk(error, (record) => {
    for (const key of ["originalCode", "code"]) {
      const code = record[key];
      if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !/^P2\d{3}$/.test(code)) {
        found = code;
        return true;
      }
    }
    return false;
  });
  return found;
}

/** Every message and DETAIL in the error chain, joined (constraint names and keys live in different places). */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  walk(error, (record) => {
    for (const key of ["message", "originalMessage", "detail"]) if (typeof record[key] === "string") parts.push(record[key]);
    return false;
  });
  return parts.join("\n");
}

export function isExclusionViolation(error: unknown): boolean {
  return sqlState(error) === SQLSTATE.exclusionViolation || /allocation_device_no_overlap/.test(errorText(error));
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === SQLSTATE.uniqueViolation;
}
