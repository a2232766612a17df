import { describe, expect, it, vi } from "vitest";

// `server-only` throws outside a React Server Components build; the mapping itself is plain code.
vi.mock("server-only", () => ({}));
const { domainError } = await import("./domain-errors.ts");
const { RequestTimeoutError } = await import("@gpumesh/queue");

describe("domainError", () => {
  it("answers a failed RPC call as 503 UNAVAILABLE, found through the error's cause, without its text", () => {
    // What web3.js throws when the RPC node cannot be reached mid-request.
    const failure = new Error("failed to get recent blockhash: TypeError: fetch failed", { cause: new Error("read ECONNRESET") });
    const mapped = domainError(failure);
    expect(mapped?.code).toBe("UNAVAILABLE");
    expect(mapped?.status).toBe(503);
    expect(mapped?.message).not.toContain("blockhash");
    expect(domainError(new Error("request to rpc failed", { cause: new Error("socket hang up") }))?.code).toBe("UNAVAILABLE");
  });

  it("answers a scheduler that did not answer the stake order in time as 503 UNAVAILABLE", () => {
    const mapped = domainError(new RequestTimeoutError("the scheduler did not answer the stake order in time"));
    expect(mapped).toMatchObject({ code: "UNAVAILABLE", status: 503 });
  });

  it("leaves an unexpected error to the opaque 500", () => {
    expect(domainError(new Error("Cannot read properties of undefined (reading 'id')"))).toBeNull();
    expect(domainError("a string")).toBeNull();
  });
});
