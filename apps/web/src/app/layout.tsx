import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { SignOutButton } from "@/components/layout/sign-out-button.tsx";
import { currentSession } from "@/server/auth/session.ts";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "GPUMesh", template: "%s · GPUMesh" },
  description: "Rent GPU clusters from a decentralized network, pay from your Solana wallet.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

const short = (address: string) => `${address.slice(0, 4)}…${address.slice(-4)}`;

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await currentSession().catch(() => null);
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/" className="brand">
            <span className="brand-mark" aria-hidden>◆</span> GPUMesh
          </a>
          <nav aria-label="Main">
            <a href="/">Explorer</a>
            <a href="/devices">Devices</a>
            <a href="/deploy">Deploy</a>
            <a href="/clusters">Clusters</a>
            <a href="/supply">Supply</a>
            <a href="/rewards">Rewards</a>
            <a href="/docs/api">API</a>
            {session ? (
              <span className="account">
                <a href="/settings">Settings</a>
                <span className="wallet-chip" title={session.walletAddress} data-testid="signed-in-wallet">{short(session.walletAddress)}</span>
                <SignOutButton />
              </span>
            ) : (
              <a href="/sign-in" className="button-link">Sign in</a>
            )}
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
