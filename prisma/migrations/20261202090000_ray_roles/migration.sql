-- Ray clusters that form (issues #10/#11): each allocation of a RAY cluster is the Ray head or a worker
-- that joins it. The role is fixed when the allocation's assignment is first sent and never changes, so
-- a re-sent assignment says the same thing and a replaced head's workers stay workers. Null for every
-- other cluster type and for allocations not yet assigned.
CREATE TYPE "RayRole" AS ENUM ('HEAD', 'WORKER');
ALTER TABLE "allocation" ADD COLUMN "ray_role" "RayRole";
