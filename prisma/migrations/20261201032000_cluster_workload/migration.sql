-- What a cluster runs on each node (core Workload: image, command, env, ports, SSH key), as the renter
-- submitted it; null for clusters whose suppliers' agents run their default for the cluster type.
ALTER TABLE "cluster" ADD COLUMN "workload" JSONB;
