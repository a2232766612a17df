"use client";

import { useEffect, useState } from "react";

/**
 * The explorer's live headline: subscribes to GET /api/v1/network/stream (server-sent events) and
 * returns the newest `event: network` payload, starting from what the server rendered. EventSource
 * reconnects by itself; `live` says whether the stream is connected now.
 */
export function useNetworkStream<T>(initial: T): { value: T; live: boolean } {
  const [value, setValue] = useState(initial);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const source = new EventSource("/api/v1/network/stream");
    source.addEventListener("open", () => setLive(true));
    source.addEventListener("error", () => setLive(false));
    source.addEventListener("network", (event) => {
      setValue(JSON.parse((event as MessageEvent<string>).data) as T);
      setLive(true);
    });
    return () => source.close();
  }, []);
  return { value, live };
}
