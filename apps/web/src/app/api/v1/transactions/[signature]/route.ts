import { route } from "@/server/api/route.ts";
import { SignatureParams } from "@/server/api/schemas/directory.ts";
import { transactionPage } from "@/server/services/explorer/directory.ts";

/** Public: one of the GPUMesh program's transactions as indexed, its events decoded. */
export const GET = route({ auth: "public", params: SignatureParams }, ({ params }) => transactionPage(params.signature));
