"use client";

import { Area, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMounted } from "@/hooks/use-mounted.ts";

/** One sampled point of the schedule, converted to plain MESH numbers (for drawing only). */
export interface SchedulePoint {
  years: number;
  hourly: number;
  cumulativeM: number;
}

/** The emission schedule over its 20 years: MESH per hour (left) and cumulative millions (right), now marked. */
export function EmissionChart({ points, nowYears }: { points: SchedulePoint[]; nowYears: number }) {
  const mounted = useMounted();
  if (!mounted) return <div style={{ height: 260 }} aria-hidden />;
  return (
    <div style={{ width: "100%", height: 260 }} role="img" aria-label="Emission schedule: MESH per hour falls slowly over 20 years while the cumulative total approaches 300 million; a line marks now (the figures are listed beside the chart)">
      <ResponsiveContainer>
        <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
          <XAxis dataKey="years" type="number" domain={[0, 20.1]} tickFormatter={(y: number) => `${Math.round(y)}y`} stroke="#9aa4b2" fontSize={12} />
          <YAxis yAxisId="hourly" stroke="#9aa4b2" fontSize={12} tickFormatter={(v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 0 })} />
          <YAxis yAxisId="cumulative" orientation="right" stroke="#9aa4b2" fontSize={12} domain={[0, 300]} tickFormatter={(v: number) => `${v}M`} />
          <Tooltip
            contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }}
            labelFormatter={(y) => `year ${Number(y).toFixed(1)}`}
            formatter={(value, name) => [Number(value).toLocaleString("en-US", { maximumFractionDigits: 2 }), name]}
          />
          <Legend />
          <Area yAxisId="cumulative" dataKey="cumulativeM" name="Cumulative (M MESH)" stroke="#7c9cff" fill="#7c9cff33" isAnimationActive={false} />
          <Line yAxisId="hourly" dataKey="hourly" name="Per hour (MESH)" stroke="#3ddbb0" dot={false} isAnimationActive={false} />
          <ReferenceLine yAxisId="hourly" x={nowYears} stroke="#f5b84a" strokeDasharray="4 2" label={{ value: "now", fill: "#f5b84a", fontSize: 12, position: "insideTopLeft" }} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Minted (emission, cranked on-chain) against burned (fees of MESH-paid leases), in MESH. */
export function MintBurnBars({ minted, burned }: { minted: number; burned: number }) {
  const max = Math.max(minted, burned, 1);
  const bar = (value: number) => `${Math.max((value / max) * 100, value > 0 ? 1 : 0)}%`;
  return (
    <div className="mint-burn" role="img" aria-label={`Minted ${minted.toLocaleString("en-US")} MESH, burned ${burned.toLocaleString("en-US")} MESH`}>
      <div className="mint-burn-row">
        <span>Minted</span>
        <span className="mint-burn-track"><span className="mint-burn-bar minted" style={{ width: bar(minted) }} /></span>
      </div>
      <div className="mint-burn-row">
        <span>Burned</span>
        <span className="mint-burn-track"><span className="mint-burn-bar burned" style={{ width: bar(burned) }} /></span>
      </div>
    </div>
  );
}
