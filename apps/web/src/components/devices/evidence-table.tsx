import { utcTime } from "@/lib/format.ts";

/** One proof-of-work check as both the owner's and the public device page show it. */
export interface EvidenceRow {
  id: string;
  kind: string;
  matrixSize: number;
  seed: string;
  root: string | null;
  rowsOpened: number[];
  elapsedMs: number | null;
  status: string;
  failureReason: string | null;
  issuedAt: Date;
}

const short = (hex: string | null) => (hex ? `${hex.slice(0, 10)}…` : "—");

/**
 * Every check with its evidence: the verifier's seed and n, the committed root, the rows opened after
 * it, the reported time and the verdict. Full seed and root are in the cell's title (and the API).
 */
export function EvidenceTable({ checks, label = "Proof-of-work checks" }: { checks: readonly EvidenceRow[]; label?: string }) {
  return (
    <div tabIndex={0} role="region" aria-label={label} className="scroll">
      <table className="cards">
        <thead>
          <tr>
            <th scope="col">Issued</th><th scope="col">Kind</th><th scope="col" className="num">n</th><th scope="col">Seed</th><th scope="col">Root</th>
            <th scope="col">Rows opened</th><th scope="col" className="num">Time</th><th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {checks.map((check) => (
            <tr key={check.id} data-testid="evidence-row">
              <td data-label="Issued">{utcTime(check.issuedAt)}</td>
              <td data-label="Kind">{check.kind === "GPU_GEMM" ? "GPU" : "CPU"}</td>
              <td data-label="n" className="num">{check.matrixSize}</td>
              <td data-label="Seed"><code title={check.seed}>{short(check.seed)}</code></td>
              <td data-label="Root"><code title={check.root ?? ""}>{short(check.root)}</code></td>
              <td data-label="Rows opened">{check.rowsOpened.length ? check.rowsOpened.join(", ") : "—"}</td>
              <td data-label="Time" className="num">{check.elapsedMs === null ? "—" : `${check.elapsedMs} ms`}</td>
              <td data-label="Verdict">
                <span className={`status ${check.status === "PASSED" ? "status-running" : check.status === "PENDING" ? "status-pending" : "status-failed"}`}>{check.status.toLowerCase()}</span>
                {check.failureReason ? <small className="muted"><br />{check.failureReason}</small> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
