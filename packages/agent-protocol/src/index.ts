export * from "./keys.ts";
export * from "./auth.ts";
export * from "./messages.ts";
export * from "./sealed-env.ts";
export * from "./outbox.ts";
export * from "./inbox.ts";
export * from "./liveness.ts";
export * from "./simulation.ts";
