import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { WalletProviders } from "@/components/wallet/wallet-providers.tsx";
import { currentSession } from "@/server/auth/session.ts";
import { SignInForm } from "./_components/sign-in-form.tsx";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

/** Only same-site paths: `next` must never send people to another site after they sign in. */
function safeNext(next: string | string[] | undefined): string {
  const value = Array.isArray(next) ? next[0] : next;
  return value && value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\") ? value : "/clusters";
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = safeNext((await searchParams).next);
  if (await currentSession()) redirect(next);
  return (
    <section className="narrow">
      <h1>Sign in with your wallet</h1>
      <p className="subtitle">
        GPUMesh has no passwords: your Solana wallet signs a one-time message that proves it is yours. Signing costs nothing and moves no funds.
      </p>
      <WalletProviders>
        <SignInForm next={next} />
      </WalletProviders>
    </section>
  );
}
