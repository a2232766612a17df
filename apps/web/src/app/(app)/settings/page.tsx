import type { Metadata } from "next";
import { utcTime } from "@/lib/format.ts";
import { listApiKeys } from "@/server/auth/api-keys.ts";
import { requireSession } from "@/server/auth/session.ts";
import { CreateApiKeyForm } from "./_components/create-api-key-form.tsx";
import { RevokeApiKeyButton } from "./_components/revoke-api-key-button.tsx";

export const metadata: Metadata = { title: "Settings" };
export const dynamic = "force-dynamic";

/** API keys for scripts: create (shown once), see when each was last used, revoke. */
export default async function SettingsPage() {
  const session = await requireSession();
  const keys = await listApiKeys(session.accountId);
  return (
    <>
      <h1>Settings</h1>
      <p className="subtitle">API keys let scripts act as this wallet’s account on the API operations marked <em>apiKey</em> in the <a href="/docs/api">API docs</a>: quotes and your clusters.</p>
      <div className="supply">
        <section className="panel" aria-labelledby="new-key-heading">
          <h2 id="new-key-heading">New API key</h2>
          <p className="muted">A key is shown once, when it is created; we keep only its hash. Send it as <code>Authorization: Bearer &lt;key&gt;</code>. A key cannot create or revoke keys.</p>
          <CreateApiKeyForm />
        </section>
        <section className="panel" aria-labelledby="keys-heading">
          <h2 id="keys-heading">Your API keys</h2>
          {keys.length === 0 ? (
            <p className="empty" data-testid="no-api-keys">No API keys yet.</p>
          ) : (
            <div className="table-scroll">
              <table data-testid="api-keys">
                <caption className="sr-only">Your API keys</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Key</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">State</th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((key) => (
                    <tr key={key.id} data-testid="api-key-row">
                      <td>{key.name}</td>
                      <td><code>{key.prefix}…</code></td>
                      <td>{utcTime(key.createdAt, "—")}</td>
                      <td>{utcTime(key.lastUsedAt, "never")}</td>
                      <td>{key.revokedAt ? <span className="status status-failed">revoked {utcTime(key.revokedAt, "")}</span> : <RevokeApiKeyButton id={key.id} name={key.name} />}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
