"use client";

import type { ReactNode } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMounted } from "@/hooks/use-mounted.ts";

export interface TimeLine {
  key: string;
  name: string;
  color: string;
}

/**
 * The explorer's chart frame: a figure with its caption (and any controls beside it), an error line,
 * and lines over time (`at`, ISO) on the shared grid, axes and tooltip, or "No snapshots" when the
 * range has none. The chart draws only in the browser (recharts measures its box). A null value is a
 * gap in its line.
 */
export function TimeChart(props: {
  title: string;
  controls?: ReactNode;
  /** The chart image's accessible name. */
  alt: string;
  data: ({ at: string } & Record<string, string | number | null>)[];
  lines: readonly TimeLine[];
  tick: (iso: string) => string;
  problem?: string | null;
  testId?: string;
}) {
  const mounted = useMounted();
  return (
    <figure className="chart" data-testid={props.testId}>
      {props.controls ? (
        <figcaption style={{ display: "flex", justifyContent: "space-between", gap: 8, flexWrap: "wrap" }}>
          <span>{props.title}</span>
          {props.controls}
        </figcaption>
      ) : (
        <figcaption>{props.title}</figcaption>
      )}
      {props.problem ? <p className="error-text" role="alert">{props.problem}</p> : null}
      {!mounted || props.data.length === 0 ? (
        <p className="muted chart-empty">{mounted ? "No snapshots in this range yet." : ""}</p>
      ) : (
        <div style={{ width: "100%", height: 180 }} role="img" aria-label={props.alt}>
          <ResponsiveContainer>
            <LineChart data={props.data} margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
              <XAxis dataKey="at" tickFormatter={props.tick} stroke="#9aa4b2" fontSize={11} minTickGap={24} />
              <YAxis stroke="#9aa4b2" fontSize={11} width={48} />
              <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} labelFormatter={(v) => new Date(String(v)).toUTCString()} />
              {props.lines.length > 1 && <Legend />}
              {props.lines.map((line) => (
                <Line key={line.key} type="monotone" dataKey={line.key} name={line.name} stroke={line.color} dot={false} isAnimationActive={false} connectNulls={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
