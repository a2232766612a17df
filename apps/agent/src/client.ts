import { EventEmitter } from "node:events";
import {
  GatewayMessage,
  parseFrame,
  signAuth,
  type AgentMessage,
  type DeviceKey,
  type GatewayMessageOf,
} from "@gpumesh/agent-protocol";
import WebSocket from "ws";

/** What the connection reports to whoever drives it (the CLI prints it, the simulator counts it). */
export interface ClientEvents {
  connected: [{ deviceId: string; skewMs: number }];
  disconnected: [{ code: number; reason: string; retryInMs: number | null }];
  refused: [GatewayMessageOf<"error">];
  message: [GatewayMessage];
  heartbeat: [{ rttMs: number; skewMs: number }];
}

export type OutgoingMessage = AgentMessage extends infer M ? (M extends { seq: number } ? Omit<M, "seq"> : never) : never;

/** Close codes after which reconnecting cannot help (bad key, device removed). */
const FATAL_CLOSE_CODES = new Set([4401, 4410]);

/**
 * One device's connection to the gateway: authenticates each connection by signing its nonce,
 * heartbeats, numbers every message (`seq`), and reconnects with capped exponential backoff and full
 * jitter (a gateway restart must not bring every agent back in the same second). Messages sent while
 * disconnected are dropped, not queued: everything the gateway is owed (acks, answers) is re-derived
 * from what it sends again after the reconnect.
 */
export class GatewayClient extends EventEmitter<ClientEvents> {
  private socket: WebSocket | undefined;
  private seq = 0;
  private attempt = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private readonly sentAt = new Map<number, number>();
  deviceId: string | undefined;
  /** Gateway clock minus ours, from the last welcome or heartbeat ack (ms, ± half a round trip). */
  skewMs = 0;

  constructor(
    private readonly gatewayUrl: string,
    private readonly key: DeviceKey,
    private readonly options: {
      agentVersion: string;
      running: () => string[];
      /** The runtime runs renters' images (Runtime.runsImages); said in every auth. Default false. */
      runsImages?: boolean;
      heartbeatEveryMs?: number;
      maxBackoffMs?: number;
      audience?: string;
    } = { agentVersion: "0", running: () => [] },
  ) {
    super();
  }

  get ready(): boolean {
    return this.deviceId !== undefined && this.socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    const url = new URL("/agent", this.gatewayUrl.replace(/^http/, "ws"));
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    this.socket = socket;
    this.seq = 0;
    this.deviceId = undefined;
    socket.on("message", (data) => {
      const message = parseFrame(GatewayMessage, data.toString());
      if (message) this.receive(message);
    });
    socket.on("close", (code, reason) => this.closed(code, reason.toString()));
    socket.on("error", () => undefined); // "close" follows and decides what to do
  }

  private receive(message: GatewayMessage): void {
    switch (message.type) {
      case "hello":
        // Only sign for the network this device joined: a gateway of another (or one relaying this
        // device's sign-in to another) gets nothing.
        if (this.options.audience && message.audience !== this.options.audience) {
          this.emit("refused", { type: "error", code: "AUTH_FAILED", message: `the gateway belongs to network "${message.audience}", this device joined "${this.options.audience}"; not signing` });
          this.stopped = true;
          this.socket?.close(4401, "wrong network");
          return;
        }
        this.socket?.send(JSON.stringify({ type: "auth", publicKey: this.key.publicKey, signature: signAuth(this.key, message.audience, message.nonce), agentVersion: this.options.agentVersion, runsImages: this.options.runsImages ?? false }));
        return;
      case "welcome":
        this.deviceId = message.deviceId;
        this.attempt = 0;
        this.skewMs = Date.parse(message.serverTime) - Date.now();
        this.startHeartbeats(message.heartbeatEveryS * 1000);
        this.emit("connected", { deviceId: message.deviceId, skewMs: this.skewMs });
        return;
      case "heartbeat-ack": {
        const sent = this.sentAt.get(message.seq);
        this.sentAt.delete(message.seq);
        if (sent !== undefined) {
          const now = Date.now();
          const rttMs = now - sent;
          this.skewMs = Date.parse(message.serverTime) - (sent + rttMs / 2);
          this.emit("heartbeat", { rttMs, skewMs: this.skewMs });
        }
        return;
      }
      case "error":
        this.emit("refused", message);
        return;
      default:
        this.emit("message", message);
    }
  }

  private startHeartbeats(everyMs: number): void {
    clearInterval(this.heartbeatTimer);
    const beat = () => {
      const seq = this.send({ type: "heartbeat", sentAt: new Date().toISOString(), running: this.options.running() });
      if (seq) {
        this.sentAt.set(seq, Date.now());
        if (this.sentAt.size > 16) this.sentAt.delete(this.sentAt.keys().next().value!);
      }
    };
    beat();
    this.heartbeatTimer = setInterval(beat, this.options.heartbeatEveryMs ?? everyMs);
  }

  /** Sends a numbered message; returns its seq, or undefined when not connected (dropped). */
  send(message: OutgoingMessage): number | undefined {
    if (!this.ready) return undefined;
    const seq = ++this.seq;
    this.socket!.send(JSON.stringify({ ...message, seq }));
    return seq;
  }

  private closed(code: number, reason: string): void {
    clearInterval(this.heartbeatTimer);
    this.deviceId = undefined;
    if (this.stopped || FATAL_CLOSE_CODES.has(code)) {
      this.emit("disconnected", { code, reason, retryInMs: null });
      return;
    }
    // Full jitter over a capped exponential: 1 s, 2 s, 4 s … up to maxBackoffMs (30 s).
    const cap = Math.min(this.options.maxBackoffMs ?? 30_000, 1_000 * 2 ** this.attempt++);
    const retryInMs = Math.round(250 + Math.random() * cap);
    this.emit("disconnected", { code, reason, retryInMs });
    this.reconnectTimer = setTimeout(() => this.connect(), retryInMs);
  }

  /** Closes the connection for good (after a drain). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close(1000, "agent stopping");
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000).unref();
    });
  }
}
