import type { ReactNode } from "react";
import { WalletProviders } from "@/components/wallet/wallet-providers.tsx";
import { requireSession } from "@/server/auth/session.ts";

export const dynamic = "force-dynamic";

/** The signed-in app: a valid session or sign-in first; the wallet is mounted here (and at sign-in) only. */
export default async function SignedInLayout({ children }: { children: ReactNode }) {
  await requireSession();
  return <WalletProviders>{children}</WalletProviders>;
}
