export * from "./types.ts";
export { SortedList } from "./sorted-list.ts";
export { deviceMix, MAX_GPUS_PER_DEVICE, SITE_LOOKAHEAD } from "./select.ts";
export * from "./placement-index.ts";
export * from "./naive.ts";
export * from "./segments.ts";
