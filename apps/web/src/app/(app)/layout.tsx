import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { WalletProviders } from "@/components/wallet/wallet-providers.tsx";
import { currentSession } from "@/server/auth/session.ts";

export const dynamic = "force-dynamic";

/** The signed-in app: a valid session or sign-in first; the wallet is mounted here (and at sign-in) only. */
export default async function SignedInLayout({ children }: { children: ReactNode }) {
  if (!(await currentSession())) {
    const path = (await headers()).get("x-gpumesh-path") ?? "/clusters";
    redirect(`/sign-in?next=${encodeURIComponent(path)}`);
  }
  return <WalletProviders>{children}</WalletProviders>;
}
