/* global process, console */
// The process runtime's default workload: serves the allocation it runs for on PORT until SIGTERM.
// A stand-in for a Ray head or a container entrypoint that needs no image (the Docker runtime runs those).
import http from "node:http";

const started = Date.now();
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      allocationId: process.env.GPUMESH_ALLOCATION_ID,
      clusterId: process.env.GPUMESH_CLUSTER_ID,
      clusterType: process.env.GPUMESH_CLUSTER_TYPE,
      gpuCount: Number(process.env.GPUMESH_GPU_COUNT),
      uptimeS: Math.round((Date.now() - started) / 1000),
    }),
  );
});
server.listen(Number(process.env.PORT), "0.0.0.0", () => console.log(`serving allocation ${process.env.GPUMESH_ALLOCATION_ID} on port ${process.env.PORT}`));
process.on("SIGTERM", () => {
  console.log("SIGTERM: stopping");
  server.close(() => process.exit(0));
});
