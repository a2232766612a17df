/**
 * The browser side of the API envelope: JSON in, JSON out, and an `ApiClientError` carrying the
 * server's code, message and field when a call fails (network failures get a message of their own).
 */
export class ApiClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly status?: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiClientError";
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: init.body === undefined ? undefined : { "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch {
    throw new ApiClientError("NETWORK", "cannot reach GPUMesh; check your connection and try again");
  }
  const payload = (await response.json().catch(() => null)) as { error?: { code: string; message: string; field?: string; details?: unknown } } | null;
  if (!response.ok) {
    const error = payload?.error;
    throw new ApiClientError(error?.code ?? "INTERNAL", error?.message ?? `request failed (${response.status})`, error?.field, response.status, error?.details);
  }
  return payload as T;
}
