"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMounted } from "@/hooks/use-mounted.ts";

/**
 * Daily lease income (gross, in the lease's token) and token rewards (MESH), as plain numbers already
 * converted to tokens. Used by the owner's device page and the explorer's supplier page.
 */
export function EarningsChart({ days, label, leaseName = "Lease income (USDC)" }: { days: { day: string; lease: number; rewards: number }[]; label: string; leaseName?: string }) {
  const mounted = useMounted();
  if (!mounted) return <div style={{ height: 240 }} aria-hidden />;
  return (
    <div style={{ width: "100%", height: 240 }} role="img" aria-label={label}>
      <ResponsiveContainer>
        <BarChart data={days} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
          <XAxis dataKey="day" tickFormatter={(day: string) => day.slice(5)} stroke="#9aa4b2" fontSize={12} />
          <YAxis yAxisId="usdc" stroke="#9aa4b2" fontSize={12} />
          <YAxis yAxisId="mesh" orientation="right" stroke="#9aa4b2" fontSize={12} />
          <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} />
          <Legend />
          <Bar yAxisId="usdc" dataKey="lease" name={leaseName} fill="#3ddbb0" />
          <Bar yAxisId="mesh" dataKey="rewards" name="Rewards (MESH)" fill="#7c9cff" />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
