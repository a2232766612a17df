/**
 * The command a renter pastes to log in to a node, from the `ssh://user@host:port` its agent reported
 * (`ssh -p 40022 root@203.0.113.7`). An address that is not one is shown as it came.
 */
export function sshCommand(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.protocol !== "ssh:" || !parsed.hostname) return url;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : "";
  return `ssh${parsed.port && parsed.port !== "22" ? ` -p ${parsed.port}` : ""} ${user}${host}`;
}
