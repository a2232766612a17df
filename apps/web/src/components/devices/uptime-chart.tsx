"use client";

import { useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ClientButton } from "@/components/ui/client-controls.tsx";
import { useMounted } from "@/hooks/use-mounted.ts";

/** Uptime per UTC day (percent; null before the device existed), over the last 7 or 30 days. */
export function UptimeChart({ days }: { days: { day: string; uptime: number | null }[] }) {
  const mounted = useMounted();
  const [span, setSpan] = useState<7 | 30>(7);
  const shown = days.slice(-span);
  return (
    <>
      <div role="group" aria-label="Chart window" className="segmented">
        {([7, 30] as const).map((n) => (
          <ClientButton key={n} type="button" aria-pressed={span === n} onClick={() => setSpan(n)} data-testid={`uptime-${n}d`}>
            {n} days
          </ClientButton>
        ))}
      </div>
      {mounted ? (
        <div style={{ width: "100%", height: 200 }} role="img" aria-label={`Uptime per day over the last ${span} days (the figures are listed below the chart)`}>
          <ResponsiveContainer>
            <BarChart data={shown.map((d) => ({ day: d.day, uptime: d.uptime ?? 0 }))} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
              <XAxis dataKey="day" tickFormatter={(day: string) => day.slice(5)} stroke="#9aa4b2" fontSize={12} />
              <YAxis domain={[0, 100]} unit="%" stroke="#9aa4b2" fontSize={12} />
              <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} formatter={(value) => [`${String(value)}%`, "Uptime"]} />
              <Bar dataKey="uptime" name="Uptime" fill="#3ddbb0" />
            </BarChart>
          </ResponsiveContainer>
        </div>
      ) : (
        <div style={{ height: 200 }} aria-hidden />
      )}
      <details>
        <summary>Uptime per day</summary>
        <ul className="plain" data-testid="uptime-days">
          {shown.map((d) => (
            <li key={d.day}>{d.day}: {d.uptime === null ? "not joined yet" : `${d.uptime.toFixed(1)}%`}</li>
          ))}
        </ul>
      </details>
    </>
  );
}
