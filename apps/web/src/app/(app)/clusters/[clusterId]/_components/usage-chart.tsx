"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMounted } from "@/hooks/use-mounted.ts";
import { money } from "@/lib/format.ts";

export interface UsageHour {
  periodStart: string;
  gpuSeconds: string;
  amount: string;
}

const hourLabel = (iso: string) => new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
const gpuHours = (gpuSeconds: string) => (Number(gpuSeconds) / 3_600).toLocaleString("en-GB", { maximumFractionDigits: 2 });

/**
 * What each settled hour cost (bars, in the lease's token) and its GPU-hours (tooltip), with the exact
 * figures in a table beneath: the chart is for the shape, the table for the base units.
 */
export function UsageChart({ usage, token }: { usage: UsageHour[]; token: string }) {
  const mounted = useMounted();
  const total = usage.reduce((sum, row) => sum + BigInt(row.amount), 0n);
  const data = usage.map((row) => ({ at: row.periodStart, cost: Number(BigInt(row.amount)) / 1e6, amount: row.amount, gpuSeconds: row.gpuSeconds }));
  return (
    <>
      {mounted ? (
        <div style={{ width: "100%", height: 180 }} role="img" aria-label={`Settled cost per hour: ${usage.length} hour(s), ${money(total, token)} in all`} data-testid="usage-chart">
          <ResponsiveContainer>
            <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
              <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
              <XAxis dataKey="at" tickFormatter={(iso: string) => new Date(iso).toISOString().slice(11, 16)} stroke="#9aa4b2" fontSize={11} minTickGap={16} />
              <YAxis stroke="#9aa4b2" fontSize={11} width={56} />
              <Tooltip
                cursor={{ fill: "rgba(255, 255, 255, 0.06)" }}
                contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }}
                labelFormatter={(iso) => hourLabel(String(iso))}
                formatter={(_value, _name, item) => {
                  const row = item.payload as (typeof data)[number];
                  return [`${money(row.amount, token)} · ${gpuHours(row.gpuSeconds)} GPU-h`, "Settled"];
                }}
              />
              <Bar dataKey="cost" name={`Cost (${token})`} fill="#3ddbb0" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      ) : (
        <div style={{ height: 180 }} aria-hidden />
      )}
      <details>
        <summary>Every hour ({usage.length})</summary>
        <table data-testid="usage-table">
          <thead><tr><th scope="col">Hour</th><th scope="col" className="num">GPU-hours</th><th scope="col" className="num">Cost</th></tr></thead>
          <tbody>
            {usage.map((row) => (
              <tr key={row.periodStart}>
                <td>{hourLabel(row.periodStart)}</td>
                <td className="num">{gpuHours(row.gpuSeconds)}</td>
                <td className="num">{money(row.amount, token)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
