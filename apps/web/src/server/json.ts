/** JSON for API responses: token amounts (bigint) become decimal strings, never lossy numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner));
}

export function jsonResponse(value: unknown, init: ResponseInit = {}): Response {
  return new Response(toJson(value), { ...init, headers: { "content-type": "application/json; charset=utf-8", ...init.headers } });
}
