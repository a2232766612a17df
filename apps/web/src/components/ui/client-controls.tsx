"use client";

import type { ComponentProps } from "react";
import { useMounted } from "@/hooks/use-mounted.ts";

/*
 * Form controls that stay disabled until React has hydrated them: before that a click is lost, a form
 * submits natively, and text typed into a controlled input or a choice made in a select is reset to
 * the initial state. Client components use these instead of the native elements (ESLint says so);
 * `disabled` adds the component's own reasons (busy, invalid). A form with many controls can put them
 * in one <ClientFieldset> instead.
 */

/** Disabled until hydrated, and whenever `disabled` says so. */
function useGate(disabled: boolean | undefined): boolean {
  return !useMounted() || Boolean(disabled);
}

export function ClientButton({ type = "button", disabled, ...props }: ComponentProps<"button">) {
  return <button type={type} {...props} disabled={useGate(disabled)} />;
}

export function ClientInput({ disabled, ...props }: ComponentProps<"input">) {
  return <input {...props} disabled={useGate(disabled)} />;
}

export function ClientSelect({ disabled, ...props }: ComponentProps<"select">) {
  return <select {...props} disabled={useGate(disabled)} />;
}

/** Every control inside is disabled with the fieldset (the native behaviour of `fieldset disabled`). */
export function ClientFieldset({ disabled, ...props }: ComponentProps<"fieldset">) {
  return <fieldset {...props} disabled={useGate(disabled)} />;
}
