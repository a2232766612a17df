import { AppRouterContext, type AppRouterInstance } from "next/dist/shared/lib/app-router-context.shared-runtime";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { RemoveDeviceButton } from "@/app/(app)/supply/_components/remove-device-button.tsx";
import { RevokeApiKeyButton } from "@/app/(app)/settings/_components/revoke-api-key-button.tsx";
import { TerminateButton } from "@/app/(app)/clusters/[clusterId]/_components/terminate-button.tsx";

// What the server sends, before React hydrates: the first button only, disabled.
const serverHtml = (node: ReactNode) => renderToStaticMarkup(<AppRouterContext.Provider value={{} as AppRouterInstance}>{node}</AppRouterContext.Provider>);

describe("confirm actions on the server", () => {
  it("render their first button, disabled, with the names the pages and tests use", () => {
    expect(serverHtml(<RevokeApiKeyButton id="k1" name="nightly" />)).toBe('<div><button type="button" class="link-button" aria-label="Revoke nightly" data-testid="revoke-api-key" disabled="">Revoke…</button></div>');
    expect(serverHtml(<RemoveDeviceButton deviceId="d1" name="rig" disabled={false} />)).toBe('<div><button type="button" class="link-button" aria-label="Remove rig" data-testid="remove-device" disabled="">Remove…</button></div>');
    expect(serverHtml(<TerminateButton clusterId="c1" />)).toBe('<div><button type="button" class="danger" data-testid="terminate" disabled="">Terminate</button></div>');
  });

  it("a leased device cannot be removed", () => {
    expect(serverHtml(<RemoveDeviceButton deviceId="d1" name="rig" disabled />)).toBe('<small class="muted">leased</small>');
  });
});
