import { z } from "zod";
import { BaseUnits, GpuModelId, RegionId } from "./common.ts";
import { BillingPeriod, ClusterType, CONNECTIVITY_TIER_FIGURES, ConnectivityTier, PaymentToken, SupplierNetwork } from "./enums.ts";
import { Workload } from "./workload.ts";

/** The renter's cluster configuration: the quote form, the API body and the matcher's input. */
export const ClusterRequest = z.object({
  name: z.string().trim().min(1).max(80),
  type: ClusterType,
  /** Acceptable GPU models ("any of"). */
  gpuModelIds: z.array(GpuModelId).min(1).max(8),
  gpuCount: z.number().int().min(1).max(1024),
  minVramGb: z.number().int().min(0).max(1024).default(0),
  regions: z.array(RegionId).min(1).max(16),
  /** The lowest acceptable connectivity tier: devices of that tier or better. */
  connectivityTier: ConnectivityTier.default("LOW").describe(`Lowest acceptable connectivity tier; devices of that tier or better. ${CONNECTIVITY_TIER_FIGURES}`),
  encryptedTraffic: z.boolean().default(false),
  complianceOnly: z.boolean().default(false),
  supplierNetworks: z.array(SupplierNetwork).min(1).default(["GPUMESH"]),
  durationHours: z.number().int().min(1).max(24 * 90),
  billingPeriod: BillingPeriod.default("HOURLY"),
  paymentToken: PaymentToken.default("USDC"),
  /** Highest acceptable price per GPU-hour in base units of paymentToken; none means market price. */
  maxPricePerGpuHour: BaseUnits.optional(),
  /** What runs on every node; without one, each supplier's agent runs its default for the cluster type. */
  workload: Workload.optional(),
});
export type ClusterRequest = z.infer<typeof ClusterRequest>;
export type ClusterRequestInput = z.input<typeof ClusterRequest>;

/**
 * What each cluster type gives a renter today, and whether it can be rented at all: the deploy form's
 * choices and the API's refusal (NewClusterRequest) both read this one table. A type no agent can
 * assemble is listed, not offered, so nobody pays for a cluster they would not get.
 */
export const CLUSTER_TYPES = [
  {
    type: "RAY",
    label: "Ray",
    offered: true,
    explanation: "One Ray cluster over every node: the first runs the head (its dashboard is your link), the others join it as workers. Your image and command, or the suppliers' Ray image.",
  },
  { type: "CONTAINER", label: "Containers", offered: true, explanation: "Your container image on every node, its ports published and shown to you as links." },
  {
    type: "BARE_METAL",
    label: "Bare metal / VM",
    offered: true,
    explanation: "Root over SSH with your public key on every node: a Linux machine with all of the node's GPUs (the supplier's machine image, isolated from their host in a container).",
  },
  {
    type: "KUBERNETES",
    label: "Kubernetes",
    offered: false,
    explanation: "Not offered yet: no node agent assembles a Kubernetes cluster (k3s server and agents) today, so there would be no kubeconfig to give you.",
  },
] as const satisfies readonly { type: ClusterType; label: string; offered: boolean; explanation: string }[];

/**
 * A new cluster as the API accepts it: a ClusterRequest, plus what GPUMesh offers today. Kept apart
 * from ClusterRequest (what the matcher places), so a rule added here never makes a paid cluster
 * unplaceable.
 */
export const NewClusterRequest = ClusterRequest.superRefine((request, context) => {
  const offer = CLUSTER_TYPES.find((entry) => entry.type === request.type);
  if (offer && !offer.offered) context.addIssue({ code: "custom", path: ["type"], message: offer.explanation });
  const workload = request.workload;
  if (request.type === "BARE_METAL") {
    if (!workload?.sshPublicKey) context.addIssue({ code: "custom", path: ["workload", "sshPublicKey"], message: "a bare-metal cluster needs your SSH public key: it is how you log in" });
    // Its node runs the suppliers' machine image, whose command is its SSH server: another image or
    // command could leave a paid node nobody can log in to.
    if (workload?.image) context.addIssue({ code: "custom", path: ["workload", "image"], message: "a bare-metal node runs the suppliers' machine image (an SSH server); run your own image as a Containers cluster (port 22 is shown as SSH)" });
    if (workload?.command) context.addIssue({ code: "custom", path: ["workload", "command"], message: "would replace the machine image's SSH server; run your own command over SSH once it runs" });
  } else if (workload && !workload.image) {
    context.addIssue({ code: "custom", path: ["workload", "image"], message: "must name a container image" });
  }
});
