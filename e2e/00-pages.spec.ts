import { expect, test } from "@playwright/test";

// Runs first (files run in name order): every page answers, and `pnpm dev` has compiled each one
// before the specs that time their steps. `next dev` compiles a page on its first request, which on a
// busy 2-core machine takes longer than a step's timeout; a user's first visit pays it once too.

test.skip(({ isMobile }) => isMobile, "HTTP only: runs once, in the laptop project");

const PUBLIC = ["/", "/devices", "/docs/api", "/sign-in"];
/** Signed-in pages: a visitor without a session is sent to sign in first, and back afterwards. */
const SIGNED_IN = ["/deploy", "/clusters", "/supply", "/rewards", "/settings"];

for (const path of [...PUBLIC, ...SIGNED_IN]) {
  test(`${path} answers`, async ({ request }) => {
    test.setTimeout(600_000);
    const response = await request.get(path, { maxRedirects: 0, timeout: 590_000 });
    if (PUBLIC.includes(path)) {
      expect(response.status(), path).toBe(200);
      expect(await response.text()).toContain("GPUMesh");
    } else {
      expect([302, 303, 307, 308], path).toContain(response.status());
      expect(response.headers().location).toContain(`/sign-in?next=${encodeURIComponent(path)}`);
    }
  });
}
