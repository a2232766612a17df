import { REGION_IDS } from "@gpumesh/core";
import { z } from "zod";

export const SUPPLIER_NETWORKS = ["GPUMESH", "RENDER", "FILECOIN", "AETHIR"] as const;

/** What a supplier chooses when registering a device; the agent reports the hardware at join. */
export const RegisterDeviceBody = z.object({
  name: z.string().trim().min(1, "give the device a name").max(80, "at most 80 characters").regex(/^[\p{L}\p{N} ._\-#()]+$/u, "letters, digits, spaces and . _ - # ( ) only"),
  region: z.enum(REGION_IDS, { message: `one of ${REGION_IDS.join(", ")}` }),
  network: z.enum(SUPPLIER_NETWORKS, { message: `one of ${SUPPLIER_NETWORKS.join(", ")}` }).default("GPUMESH"),
});
export type RegisterDeviceBody = z.infer<typeof RegisterDeviceBody>;

export const DeviceParams = z.object({ deviceId: z.uuid("not a device id") });
