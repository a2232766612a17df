import net from "node:net";

/** A port is taken by another process: say which, and the variable that moves it. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly service: string,
    readonly envVar?: string,
  ) {
    super(
      `${service}: port ${port} is already in use` +
        (envVar ? `; set ${envVar} to a free port (e.g. ${envVar}=${port + 1})` : ""),
    );
    this.name = "PortInUseError";
  }
}

/** True when nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function assertPortFree(port: number, service: string, envVar?: string): Promise<void> {
  if (!(await isPortFree(port))) throw new PortInUseError(port, service, envVar);
}

/** A port the OS considers free right now (for throwaway test services). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
