import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "GPUMesh", template: "%s · GPUMesh" },
  description: "Rent GPU clusters from a decentralized network, pay from your Solana wallet.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/" className="brand">
            <span className="brand-mark" aria-hidden>◆</span> GPUMesh
          </a>
          <nav>
            <a href="/">Explorer</a>
            <a href="/api/v1/network">API</a>
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
