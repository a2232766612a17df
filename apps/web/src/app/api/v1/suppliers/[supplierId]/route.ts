import { route } from "@/server/api/route.ts";
import { SupplierParams } from "@/server/api/schemas/directory.ts";
import { supplierPage } from "@/server/services/explorer/directory.ts";

/** Public: a supplier (by id, wallet or on-chain address), its totals, earnings per day and first page of devices. */
export const GET = route({ auth: "public", params: SupplierParams }, ({ params }) => supplierPage(params.supplierId));
