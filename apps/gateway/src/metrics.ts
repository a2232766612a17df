import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of one gateway process (GET /metrics). */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gpumesh_gateway_" });
  return {
    registry,
    connections: new Gauge({ name: "gpumesh_gateway_connections", help: "Open agent WebSocket connections (authenticated or not)", registers: [registry] }),
    devicesConnected: new Gauge({ name: "gpumesh_gateway_devices_connected", help: "Authenticated devices on this gateway", registers: [registry] }),
    auth: new Counter({ name: "gpumesh_gateway_auth_total", help: "Agent authentications by result", labelNames: ["result"], registers: [registry] }),
    messages: new Counter({ name: "gpumesh_gateway_agent_messages_total", help: "Authenticated agent messages by type", labelNames: ["type"], registers: [registry] }),
    delivered: new Counter({ name: "gpumesh_gateway_delivered_total", help: "Outbox items sent to agents by type", labelNames: ["type"], registers: [registry] }),
    refusals: new Counter({ name: "gpumesh_gateway_refusals_total", help: "Messages refused, by error code", labelNames: ["code"], registers: [registry] }),
    lag: new Histogram({
      name: "gpumesh_gateway_heartbeat_lag_seconds",
      help: "Gateway receive time minus the agent's send time (includes clock skew)",
      buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60],
      registers: [registry],
    }),
  };
}
