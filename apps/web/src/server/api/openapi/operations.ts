import { ClusterRequest } from "@gpumesh/core";
import { z } from "zod";
import type { ErrorCode } from "../errors.ts";
import { Page, PageQuery } from "../pagination.ts";
import { ApiKeyList, ApiKeyParams, ApiKeyView, CreateApiKeyBody, CreatedApiKey } from "../schemas/api-keys.ts";
import {
  ClusterDetailResponse,
  ClusterEventStream,
  ClusterListItem,
  ClusterParams,
  ExtensionBody,
  ExtensionOrderResponse,
  ExtensionPayBody,
  HeldQuoteResponse,
  PaidExtensionResponse,
  PaidQuoteResponse,
  PayBody,
  QuoteOrderResponse,
  QuoteParams,
  QuoteViewResponse,
  TerminatedResponse,
} from "../schemas/clusters.ts";
import { DeviceIdParams, DeviceListQuery, DeviceListResponse, EvidenceQuery, EvidenceResponse, PublicDeviceView, PublicSupplierView, SignatureParams, SupplierParams, TransactionView } from "../schemas/directory.ts";
import { EpochParams, EpochView } from "../schemas/epochs.ts";
import { ClaimBody, ClaimOrderView, ClaimResultView, EmissionView, RewardProofView, RewardsQuery, WalletParams, WalletRewardsView } from "../schemas/rewards.ts";
import { AvailabilityQuery, AvailabilityResponse } from "../schemas/markets.ts";
import { CapacityQuery, CapacityResponse, HistoryQuery, HistoryResponse, ModelsResponse, NetworkHeadline, NetworkStream, RegionsResponse } from "../schemas/explorer.ts";
import {
  DeviceParams,
  PayoutWalletBody,
  PayoutWalletOrderResponse,
  PayoutWalletPayBody,
  RegisterDeviceBody,
  RegisteredDeviceResponse,
  RegistrationOrderResponse,
  RegistrationPayBody,
  RegistrationStateResponse,
  RemovedDeviceResponse,
  SupplierDeviceDetailResponse,
  SupplyOverviewResponse,
} from "../schemas/supply.ts";

/*
 * The public API's operations: one row per route handler under app/api/v1 (a test checks both ways),
 * and the OpenAPI document (document.ts, served at /api/v1/openapi.json, committed as
 * apps/web/openapi.json) is built from these rows only.
 *
 * To add an endpoint:
 *   1. Put its zod schemas in server/api/schemas/<resource>.ts (params, query, body, and the response:
 *      the JSON the handler returns, bigints as decimal strings via `Amount`, dates via `Timestamp`;
 *      give public fields a .describe(), and reusable objects .meta({ id: "Name" })).
 *   2. Validate with the SAME schemas in the route: route({ auth, params, query, body }, handler).
 *   3. Add a row below: method, path (OpenAPI `{param}` style), summary, tags, auth, the schemas, and
 *      `errors`: the codes the handler itself can answer (NOT_FOUND, CONFLICT…). Codes the wrapper
 *      answers are added by the builder from the row (VALIDATION when there is input, BAD_REQUEST and
 *      PAYLOAD_TOO_LARGE with a body, UNAUTHENTICATED / INVALID_API_KEY / FORBIDDEN / RATE_LIMITED by
 *      auth) — see impliedErrors in document.ts.
 *   4. Run `pnpm --filter @gpumesh/web openapi` to rewrite apps/web/openapi.json and commit it.
 *   5. e2e/api-contract.spec.ts walks every row: give it a path-parameter fixture or list the
 *      operation or error there with the reason it cannot be exercised.
 * List endpoints page with server/api/pagination.ts (PageQuery in, Page(Item) out).
 */

export type Auth = "public" | "session" | "apiKey";
export type Tag = "Network" | "Markets" | "Rewards" | "Quotes" | "Clusters" | "Supply" | "API keys" | "Meta";
export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface Operation {
  /** operationId: camelCase, unique. */
  id: string;
  method: Method;
  /** Full path, OpenAPI style: /api/v1/clusters/{clusterId}. */
  path: `/api/v1/${string}`;
  summary: string;
  description?: string;
  tags: [Tag, ...Tag[]];
  /** public: anyone; session: a signed-in browser (cookie) only; apiKey: the session cookie or `Authorization: Bearer <key>`. */
  auth: Auth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  /** Success status (200 unless the handler answers `created`). */
  status?: 200 | 201;
  /** text/event-stream for server-sent events; JSON otherwise. */
  stream?: boolean;
  /** Error codes the handler itself answers (the wrapper's own are implied, see the top of this file). */
  errors: ErrorCode[];
}

const ORDER_ERRORS: ErrorCode[] = ["NOT_FOUND", "CONFLICT", "EXPIRED"];
const PAYMENT_ERRORS: ErrorCode[] = ["NOT_FOUND", "CONFLICT", "EXPIRED", "TRANSACTION_MISMATCH"];

export const operations: Operation[] = [
  // -- meta
  {
    id: "getOpenApiDocument",
    method: "get",
    path: "/api/v1/openapi.json",
    summary: "This API's OpenAPI 3.1 document",
    tags: ["Meta"],
    auth: "public",
    response: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }),
    errors: [],
  },
  // -- network and markets
  {
    id: "getNetworkSummary",
    method: "get",
    path: "/api/v1/network",
    summary: "The network at a glance",
    description: "From the newest rollup (the scheduler takes one every 30 s): suppliers, devices, GPUs and CPU cores (total, verified, online, hired), utilisation, clusters running, revenue and MESH minted and burned over 24 h and in total, circulating supply, emission progress, fill rate and time to running, by GPU model and by region.",
    tags: ["Network"],
    auth: "public",
    response: NetworkHeadline,
    errors: [],
  },
  {
    id: "getNetworkHistory",
    method: "get",
    path: "/api/v1/network/history",
    summary: "One network metric over time",
    description: "Minute buckets for ranges up to 24h, hour buckets beyond (kept 2 days and 1 year).",
    tags: ["Network"],
    auth: "public",
    query: HistoryQuery,
    response: HistoryResponse,
    errors: [],
  },
  {
    id: "streamNetwork",
    method: "get",
    path: "/api/v1/network/stream",
    summary: "The headline, live (server-sent events)",
    tags: ["Network"],
    auth: "public",
    response: NetworkStream,
    stream: true,
    errors: [],
  },
  {
    id: "getDeployableCapacity",
    method: "get",
    path: "/api/v1/capacity",
    summary: "Deployable now, by shape",
    description: "For 1, 8 and 64 GPUs of each GPU model: how many such clusters the free devices could host this minute, on one device each and on whole devices in any number (as consecutive deploys would take them), per region or any region, connectivity tier and verification level.",
    tags: ["Network"],
    auth: "public",
    query: CapacityQuery,
    response: CapacityResponse,
    errors: [],
  },
  {
    id: "getGpuModelMarkets",
    method: "get",
    path: "/api/v1/models",
    summary: "GPU models: counts, free GPUs, asks and their 24 h trend",
    tags: ["Network"],
    auth: "public",
    response: ModelsResponse,
    errors: [],
  },
  {
    id: "getRegionMarkets",
    method: "get",
    path: "/api/v1/regions",
    summary: "Regions: counts, free GPUs and asks, with map coordinates",
    tags: ["Network"],
    auth: "public",
    response: RegionsResponse,
    errors: [],
  },
  {
    id: "getAvailability",
    method: "get",
    path: "/api/v1/availability",
    summary: "Free GPUs and prices per model and region",
    description: "Per GPU model and region: online, busy and free GPUs, today's price per GPU-hour (in `token`) and a hyperscaler's list price. Always fresh: compare it with the quotes you get.",
    tags: ["Markets"],
    auth: "public",
    query: AvailabilityQuery,
    response: AvailabilityResponse,
    errors: [],
  },
  // -- rewards
  {
    id: "listEpochs",
    method: "get",
    path: "/api/v1/epochs",
    summary: "Reward epochs, newest first",
    description: "One epoch per hour: the schedule's emission, the pool its contributors shared, the cumulative total owed, the Merkle root and the transaction that posted it.",
    tags: ["Rewards"],
    auth: "public",
    query: PageQuery,
    response: Page(EpochView),
    errors: [],
  },
  {
    id: "getEpoch",
    method: "get",
    path: "/api/v1/epochs/{epoch}",
    summary: "One reward epoch",
    tags: ["Rewards"],
    auth: "public",
    params: EpochParams,
    response: EpochView,
    errors: ["NOT_FOUND"],
  },
  {
    id: "getWalletRewards",
    method: "get",
    path: "/api/v1/rewards/{wallet}",
    summary: "A wallet's rewards: per epoch and device, claimable now, claims",
    description: "Per epoch (newest first, paged) and per device what was earned and why: GPUs, seconds online, performance weight, verification, the epoch's pool and total weight, so weight = GPUs × performance weight × seconds and reward = ⌊pool × weight ÷ total weight⌋ can be recomputed. Claimable = the cumulative amount in the newest posted tree − what the program already paid (its claim record).",
    tags: ["Rewards"],
    auth: "public",
    params: WalletParams,
    query: RewardsQuery,
    response: WalletRewardsView,
    errors: [],
  },
  {
    id: "getWalletRewardProof",
    method: "get",
    path: "/api/v1/rewards/{wallet}/proof",
    summary: "A wallet's merkle proof against the newest posted root",
    description: "What claim_rewards(cumulative, proof) takes. The program also accepts the previous root for one epoch after a new post, so a proof fetched just before a post still claims.",
    tags: ["Rewards"],
    auth: "public",
    params: WalletParams,
    response: RewardProofView,
    errors: ["NOT_FOUND"],
  },
  {
    id: "orderRewardClaim",
    method: "post",
    path: "/api/v1/rewards/claim/transaction",
    summary: "The unsigned claim_rewards for everything your wallet is owed",
    description: "Built by the server from its own proof (creates your MESH token account if missing); your wallet signs it and you submit it to /api/v1/rewards/claim. Nothing owed is 409 NOTHING_TO_CLAIM.",
    tags: ["Rewards"],
    auth: "session",
    response: ClaimOrderView,
    errors: ["NOTHING_TO_CLAIM", "UNAVAILABLE"],
  },
  {
    id: "claimRewards",
    method: "post",
    path: "/api/v1/rewards/claim",
    summary: "Submit the wallet-signed claim_rewards",
    description: "Checked against the order the server built, submitted, confirmed and recorded once; answers what the program paid.",
    tags: ["Rewards"],
    auth: "session",
    body: ClaimBody,
    response: ClaimResultView,
    errors: ["NOTHING_TO_CLAIM", "CONFLICT", "EXPIRED", "TRANSACTION_MISMATCH", "UNAVAILABLE"],
  },
  {
    id: "getEmission",
    method: "get",
    path: "/api/v1/emission",
    summary: "MESH emission: schedule, minted, burned, circulating",
    description: "The hour in progress and what it emits, what the schedule says so far, what the program minted, what was burned (genesis + minted − supply), circulating supply and progress toward the 300M cap, and the schedule sampled every 30 days.",
    tags: ["Rewards"],
    auth: "public",
    response: EmissionView,
    errors: ["UNAVAILABLE"],
  },
  // -- quotes
  {
    id: "createQuote",
    method: "post",
    path: "/api/v1/quotes",
    summary: "Price a configuration and hold matching devices",
    description: "Matches devices, prices them from the server's own data and holds them for a few minutes; pay the quote to deploy. Nothing matching is 409 NO_CAPACITY with the nearest alternatives in `details`.",
    tags: ["Quotes"],
    auth: "apiKey",
    body: ClusterRequest,
    response: HeldQuoteResponse,
    status: 201,
    errors: ["NO_CAPACITY", "CONFLICT"],
  },
  {
    id: "getQuote",
    method: "get",
    path: "/api/v1/quotes/{quoteId}",
    summary: "One of your quotes as stored",
    tags: ["Quotes"],
    auth: "apiKey",
    params: QuoteParams,
    response: QuoteViewResponse,
    errors: ["NOT_FOUND"],
  },
  {
    id: "orderQuote",
    method: "post",
    path: "/api/v1/quotes/{quoteId}/transaction",
    summary: "The unsigned open_lease for a quote",
    description: "Built by the server from the stored quote; your wallet signs it and you submit it to …/payment.",
    tags: ["Quotes"],
    auth: "session",
    params: QuoteParams,
    response: QuoteOrderResponse,
    errors: ORDER_ERRORS,
  },
  {
    id: "payQuote",
    method: "post",
    path: "/api/v1/quotes/{quoteId}/payment",
    summary: "Submit the wallet-signed open_lease",
    description: "Checked against the order the server built (program, accounts, price, lease id, fee payer, blockhash), submitted, confirmed and recorded once; idempotent by signature.",
    tags: ["Quotes"],
    auth: "session",
    params: QuoteParams,
    body: PayBody,
    response: PaidQuoteResponse,
    errors: PAYMENT_ERRORS,
  },
  // -- clusters
  {
    id: "listClusters",
    method: "get",
    path: "/api/v1/clusters",
    summary: "Your clusters, newest first",
    description: "Paid clusters only (quotes never paid are left out).",
    tags: ["Clusters"],
    auth: "apiKey",
    query: PageQuery,
    response: Page(ClusterListItem),
    errors: [],
  },
  {
    id: "getCluster",
    method: "get",
    path: "/api/v1/clusters/{clusterId}",
    summary: "One of your clusters",
    description: "Nodes, time left, cost so far, timeline, receipts and hourly usage.",
    tags: ["Clusters"],
    auth: "apiKey",
    params: ClusterParams,
    response: ClusterDetailResponse,
    errors: ["NOT_FOUND"],
  },
  {
    id: "streamCluster",
    method: "get",
    path: "/api/v1/clusters/{clusterId}/events",
    summary: "Live cluster state (server-sent events)",
    description: "The cluster's full state now and after every change, until it is over.",
    tags: ["Clusters"],
    auth: "apiKey",
    params: ClusterParams,
    response: ClusterEventStream,
    stream: true,
    errors: ["NOT_FOUND"],
  },
  {
    id: "orderExtension",
    method: "post",
    path: "/api/v1/clusters/{clusterId}/extension/transaction",
    summary: "The unsigned extend_lease (same price)",
    tags: ["Clusters"],
    auth: "session",
    params: ClusterParams,
    body: ExtensionBody,
    response: ExtensionOrderResponse,
    errors: ORDER_ERRORS,
  },
  {
    id: "payExtension",
    method: "post",
    path: "/api/v1/clusters/{clusterId}/extension",
    summary: "Submit the wallet-signed extend_lease",
    tags: ["Clusters"],
    auth: "session",
    params: ClusterParams,
    body: ExtensionPayBody,
    response: PaidExtensionResponse,
    errors: PAYMENT_ERRORS,
  },
  {
    id: "terminateCluster",
    method: "post",
    path: "/api/v1/clusters/{clusterId}/terminate",
    summary: "End your running cluster now",
    description: "Served time is paid; the rest of the deposit is refunded on-chain.",
    tags: ["Clusters"],
    auth: "apiKey",
    params: ClusterParams,
    response: TerminatedResponse,
    errors: ["NOT_FOUND", "CONFLICT"],
  },
  // -- supply
  {
    id: "getSupplyOverview",
    method: "get",
    path: "/api/v1/supply/devices",
    summary: "Your devices and unused join tokens",
    tags: ["Supply"],
    auth: "session",
    response: SupplyOverviewResponse,
    errors: [],
  },
  {
    id: "registerDevice",
    method: "post",
    path: "/api/v1/supply/devices",
    summary: "A one-time join token for a new device",
    description: "Valid one hour, with the commands to run on the machine. At most 30 an hour.",
    tags: ["Supply"],
    auth: "session",
    body: RegisterDeviceBody,
    response: RegisteredDeviceResponse,
    status: 201,
    errors: ["CONFLICT", "RATE_LIMITED"],
  },
  {
    id: "getSupplierDevice",
    method: "get",
    path: "/api/v1/supply/devices/{deviceId}",
    summary: "Your device: spec, lease, proof-of-work evidence, earnings, stake",
    tags: ["Supply"],
    auth: "session",
    params: DeviceParams,
    response: SupplierDeviceDetailResponse,
    errors: ["NOT_FOUND"],
  },
  {
    id: "removeDevice",
    method: "delete",
    path: "/api/v1/supply/devices/{deviceId}",
    summary: "Remove your device (not while it serves a lease)",
    tags: ["Supply"],
    auth: "session",
    params: DeviceParams,
    response: RemovedDeviceResponse,
    errors: ["NOT_FOUND", "CONFLICT"],
  },
  {
    id: "getRegistration",
    method: "get",
    path: "/api/v1/supply/registration",
    summary: "Whether you are registered as a supplier on-chain",
    tags: ["Supply"],
    auth: "session",
    response: RegistrationStateResponse,
    errors: [],
  },
  {
    id: "orderRegistration",
    method: "post",
    path: "/api/v1/supply/registration/transaction",
    summary: "The unsigned register_supplier (or the recorded state when already on-chain)",
    tags: ["Supply"],
    auth: "session",
    response: RegistrationOrderResponse,
    errors: ["CONFLICT"],
  },
  {
    id: "submitRegistration",
    method: "post",
    path: "/api/v1/supply/registration",
    summary: "Submit your wallet-signed register_supplier",
    tags: ["Supply"],
    auth: "session",
    body: RegistrationPayBody,
    response: RegistrationStateResponse,
    errors: ["CONFLICT", "EXPIRED", "TRANSACTION_MISMATCH"],
  },
  {
    id: "orderPayoutWallet",
    method: "post",
    path: "/api/v1/supply/payout-wallet/transaction",
    summary: "The unsigned set_payout_wallet",
    tags: ["Supply"],
    auth: "session",
    body: PayoutWalletBody,
    response: PayoutWalletOrderResponse,
    errors: ["CONFLICT"],
  },
  {
    id: "submitPayoutWallet",
    method: "post",
    path: "/api/v1/supply/payout-wallet",
    summary: "Submit your wallet-signed set_payout_wallet",
    tags: ["Supply"],
    auth: "session",
    body: PayoutWalletPayBody,
    response: RegistrationStateResponse,
    errors: ["CONFLICT", "EXPIRED", "TRANSACTION_MISMATCH"],
  },
  // -- API keys (session only: a key cannot list, mint or revoke keys)
  {
    id: "listApiKeys",
    method: "get",
    path: "/api/v1/api-keys",
    summary: "Your API keys (never the keys themselves)",
    tags: ["API keys"],
    auth: "session",
    response: ApiKeyList,
    errors: [],
  },
  {
    id: "createApiKey",
    method: "post",
    path: "/api/v1/api-keys",
    summary: "Create an API key (shown once)",
    description: "Send it as `Authorization: Bearer <key>` to the operations marked apiKey. At most 20 live keys.",
    tags: ["API keys"],
    auth: "session",
    body: CreateApiKeyBody,
    response: CreatedApiKey,
    status: 201,
    errors: ["CONFLICT"],
  },
  {
    id: "revokeApiKey",
    method: "delete",
    path: "/api/v1/api-keys/{apiKeyId}",
    summary: "Revoke an API key (at once, for good)",
    tags: ["API keys"],
    auth: "session",
    params: ApiKeyParams,
    response: ApiKeyView,
    errors: ["NOT_FOUND"],
  },
  // -- explorer directory (public)
  {
    id: "listDevices",
    method: "get",
    path: "/api/v1/devices",
    summary: "Devices, searched, filtered and sorted",
    description: "Keyset pages (stable while devices join). `matches` counts up to 1,000 (`atLeast` beyond): the table is never counted whole.",
    tags: ["Network"],
    auth: "public",
    query: DeviceListQuery,
    response: DeviceListResponse,
    errors: [],
  },
  {
    id: "getDevice",
    method: "get",
    path: "/api/v1/devices/{deviceId}",
    summary: "A device's public page",
    description: "Spec, status and why, uptime per day (30 days), latest proof-of-work checks, leases served (renters as truncated wallets) and rewards per epoch.",
    tags: ["Network"],
    auth: "public",
    params: DeviceIdParams,
    response: PublicDeviceView,
    errors: ["NOT_FOUND"],
  },
  {
    id: "listDeviceEvidence",
    method: "get",
    path: "/api/v1/devices/{deviceId}/evidence",
    summary: "A device's proof-of-work checks with their evidence",
    description: "Newest first: seed, n, committed root, rows opened, reported time and verdict — enough to re-run the verifier.",
    tags: ["Network"],
    auth: "public",
    params: DeviceIdParams,
    query: EvidenceQuery,
    response: EvidenceResponse,
    errors: ["NOT_FOUND"],
  },
  {
    id: "getSupplier",
    method: "get",
    path: "/api/v1/suppliers/{supplierId}",
    summary: "A supplier's public page",
    description: "By supplier id, wallet or on-chain Supplier address: totals, earnings per day (30 days) and its first page of devices.",
    tags: ["Network"],
    auth: "public",
    params: SupplierParams,
    response: PublicSupplierView,
    errors: ["NOT_FOUND"],
  },
  {
    id: "getTransaction",
    method: "get",
    path: "/api/v1/transactions/{signature}",
    summary: "One of the GPUMesh program's transactions",
    description: "As the chain indexer recorded it: events in order, amounts in base units with their token, and the devices and suppliers they concern.",
    tags: ["Network"],
    auth: "public",
    params: SignatureParams,
    response: TransactionView,
    errors: ["NOT_FOUND"],
  },
];
