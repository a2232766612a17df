"use client";

import { useEffect, useState } from "react";

/** False during server rendering and hydration; wallet-dependent UI renders only after (React #418 otherwise). */
export function useMounted(): boolean {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
}
