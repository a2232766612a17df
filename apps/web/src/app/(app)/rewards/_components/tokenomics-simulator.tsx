"use client";

import { MESH_UNIT, projectSupply, type TokenomicsYear } from "@gpumesh/core";
import { useId, useMemo, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMounted } from "@/hooks/use-mounted.ts";

/**
 * What-if MESH supply over 20 years (core `projectSupply`: the program's emission schedule minus fee
 * burns from compounding demand). Everything runs in the browser; nothing is sent anywhere.
 */
interface Field {
  key: "demandM" | "growthPct" | "feeBps" | "burnPct";
  label: string;
  hint: string;
  min: number;
  max: number;
  step: number;
}

const FIELDS: Field[] = [
  { key: "demandM", label: "Demand in year 1 (million MESH)", hint: "what renters pay in MESH in the first year", min: 0, max: 100_000, step: 1 },
  { key: "growthPct", label: "Demand growth (% per year)", hint: "−100 to 1,000", min: -100, max: 1_000, step: 1 },
  { key: "feeBps", label: "Protocol fee (bps)", hint: "0 to 10,000 (100 bps = 1 %)", min: 0, max: 10_000, step: 1 },
  { key: "burnPct", label: "Share of the fee burned (%)", hint: "0 to 100", min: 0, max: 100, step: 1 },
];

type Values = Record<Field["key"], string>;

const toM = (units: bigint) => Number(units / (MESH_UNIT * 1_000n)) / 1_000;

function check(values: Values): { errors: Partial<Record<Field["key"], string>>; rows: TokenomicsYear[] | null } {
  const errors: Partial<Record<Field["key"], string>> = {};
  const numbers = {} as Record<Field["key"], number>;
  for (const field of FIELDS) {
    const value = Number(values[field.key]);
    if (values[field.key].trim() === "" || !Number.isInteger(value)) errors[field.key] = "a whole number";
    else if (value < field.min || value > field.max) errors[field.key] = `from ${field.min.toLocaleString("en-US")} to ${field.max.toLocaleString("en-US")}`;
    numbers[field.key] = value;
  }
  if (Object.keys(errors).length) return { errors, rows: null };
  const rows = projectSupply({
    initialDemand: BigInt(numbers.demandM) * 1_000_000n * MESH_UNIT,
    demandGrowthBps: numbers.growthPct * 100,
    feeBps: numbers.feeBps,
    burnShareBps: numbers.burnPct * 100,
    years: 20,
  });
  return { errors, rows };
}

export function TokenomicsSimulator({ feeBps, burnBps }: { feeBps: number; burnBps: number }) {
  const id = useId();
  const mounted = useMounted();
  const [values, setValues] = useState<Values>({ demandM: "10", growthPct: "25", feeBps: String(feeBps), burnPct: String(Math.round(burnBps / 100)) });
  const { errors, rows } = useMemo(() => check(values), [values]);
  const points = rows?.map((r) => ({ year: r.year, supply: toM(r.supply), emitted: toM(r.cumulativeEmitted), burned: toM(r.cumulativeBurned) })) ?? [];
  const last = rows?.at(-1);

  return (
    <div className="simulator">
      <form className="simulator-fields" onSubmit={(event) => event.preventDefault()} aria-label="Tokenomics settings">
        {FIELDS.map((field) => (
          <label key={field.key} htmlFor={`${id}-${field.key}`}>
            <span>{field.label}</span>
            {/* eslint-disable-next-line no-restricted-syntax -- not gated before this rule (typing before hydration is reset; e2e/rewards.spec.ts retries): gating it changes behaviour, so it is left to its own change */}
            <input
              id={`${id}-${field.key}`}
              type="number"
              inputMode="numeric"
              min={field.min}
              max={field.max}
              step={field.step}
              value={values[field.key]}
              aria-invalid={errors[field.key] ? true : undefined}
              aria-describedby={`${id}-${field.key}-hint`}
              onChange={(event) => setValues((current) => ({ ...current, [field.key]: event.target.value }))}
              data-testid={`sim-${field.key}`}
            />
            <small id={`${id}-${field.key}-hint`} className={errors[field.key] ? "error-text" : "muted"}>{errors[field.key] ? `Must be ${errors[field.key]}` : field.hint}</small>
          </label>
        ))}
      </form>
      {rows && last ? (
        <>
          <p data-testid="sim-summary">
            After 20 years: supply <strong>{toM(last.supply).toLocaleString("en-US", { maximumFractionDigits: 1 })}M MESH</strong> ({toM(last.cumulativeEmitted).toLocaleString("en-US", { maximumFractionDigits: 1 })}M emitted, {toM(last.cumulativeBurned).toLocaleString("en-US", { maximumFractionDigits: 1 })}M burned; genesis 500M).
          </p>
          {mounted ? (
            <div style={{ width: "100%", height: 260 }} role="img" aria-label="Projected MESH supply, cumulative emission and cumulative burn over 20 years (the summary above has the end figures)">
              <ResponsiveContainer>
                <LineChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" />
                  <XAxis dataKey="year" stroke="#9aa4b2" fontSize={12} tickFormatter={(y: number) => `${y}y`} />
                  <YAxis stroke="#9aa4b2" fontSize={12} tickFormatter={(v: number) => `${v}M`} />
                  <Tooltip contentStyle={{ background: "#141821", border: "1px solid #2a2f3a" }} labelFormatter={(y) => `year ${String(y)}`} formatter={(value, name) => [`${Number(value).toLocaleString("en-US", { maximumFractionDigits: 1 })}M`, name]} />
                  <Legend />
                  <Line dataKey="supply" name="Supply" stroke="#7c9cff" dot={false} isAnimationActive={false} />
                  <Line dataKey="emitted" name="Emitted (cumulative)" stroke="#3ddbb0" dot={false} isAnimationActive={false} />
                  <Line dataKey="burned" name="Burned (cumulative)" stroke="#f5b84a" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ) : (
            <div style={{ height: 260 }} aria-hidden />
          )}
        </>
      ) : (
        <p role="alert" className="error-text" data-testid="sim-invalid">Fix the settings above to see the projection.</p>
      )}
      <p className="muted">A model, not a forecast: only leases paid in MESH burn (USDC-paid fees go to the treasury), and demand here is that MESH part.</p>
    </div>
  );
}
