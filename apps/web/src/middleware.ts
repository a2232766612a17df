import { NextResponse, type NextRequest } from "next/server";

/**
 * Cheap work only (no database): security headers on every response, a per-request CSP nonce that
 * Next puts on its own scripts, and the path asked for (x-gpumesh-path) for the signed-in layout's
 * redirect to sign-in. The redirect itself is the layout's: a middleware redirect goes through Next's
 * URL normalisation, which turns 127.0.0.1 into "localhost" (another origin, without the cookie).
 */
const dev = process.env.NODE_ENV !== "production";

function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    // 'strict-dynamic': scripts Next loads from its nonce'd bootstrap are trusted, nothing else inline.
    // Dev (React refresh, source maps) needs eval; production does not.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // React writes style attributes (charts, progress bars).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

export function middleware(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  const nonce = btoa(crypto.randomUUID());
  const csp = contentSecurityPolicy(nonce);
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("content-security-policy", csp);
  // Where the person was going: the signed-in layout sends them back here after sign-in.
  headers.set("x-gpumesh-path", pathname + search);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  response.headers.set("strict-transport-security", "max-age=63072000; includeSubDomains");
  response.headers.set("x-frame-options", "DENY");
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "strict-origin-when-cross-origin");
  response.headers.set("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
  return response;
}

export const config = {
  // Everything but Next's static assets (they carry no page and need no nonce).
  matcher: [{ source: "/((?!_next/static|_next/image|favicon.ico).*)" }],
};
