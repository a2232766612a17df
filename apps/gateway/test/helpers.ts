import { GatewayMessage, parseFrame, signAuth, type DeviceKey, type GatewayMessageOf } from "@gpumesh/agent-protocol";
import WebSocket from "ws";

/**
 * A hand-driven agent connection for protocol tests: every frame it receives is kept in order, and
 * `next(type)` waits for the next one of a type, so a test can send exactly what an attacker would.
 */
export class RawAgent {
  readonly frames: GatewayMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly waiters: (() => void)[] = [];
  private consumed = 0;
  hello!: GatewayMessageOf<"hello">;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = parseFrame(GatewayMessage, data.toString());
      if (message) this.frames.push(message);
      this.wake();
    });
    socket.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  static async connect(gatewayUrl: string): Promise<RawAgent> {
    const agent = new RawAgent(new WebSocket(`${gatewayUrl.replace(/^http/, "ws")}/agent`));
    agent.hello = await agent.next("hello");
    return agent;
  }

  /** Connects and authenticates with `key`; resolves with the welcome. */
  static async authenticated(gatewayUrl: string, key: DeviceKey, audience = "gpumesh-test"): Promise<{ agent: RawAgent; welcome: GatewayMessageOf<"welcome"> }> {
    const agent = await RawAgent.connect(gatewayUrl);
    agent.send({ type: "auth", publicKey: key.publicKey, signature: signAuth(key, audience, agent.hello.nonce), agentVersion: "test" });
    return { agent, welcome: await agent.next("welcome") };
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** The next frame of `type` after those already taken (earlier frames of other types are skipped). */
  async next<T extends GatewayMessage["type"]>(type: T, timeoutMs = 5_000): Promise<GatewayMessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.consumed < this.frames.length) {
        const frame = this.frames[this.consumed++]!;
        if (frame.type === type) return frame as GatewayMessageOf<T>;
      }
      if (this.closed) throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async closedWith(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.closed;
  }

  close(): void {
    this.socket.close();
  }
}
