const CLASS: Record<string, string> = { ONLINE: "status-running", REGISTERED: "status-pending", OFFLINE: "status-failed", SUSPENDED: "status-failed" };

/** A device status as a badge (words, not colour alone). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`status ${CLASS[status] ?? ""}`} data-testid="device-status">{status.toLowerCase()}</span>;
}
