// The ContainerRunner conformance suite on the machine's engine: DockerRunner, and MultiEngineRunner on one engine.
import * as t from "node:test";
import Docker from "dockerode";
import { DockerRunner } from "./docker-runner.ts";
import { MultiEngineRunner } from "./multi-engine-runner.ts";
import { runContainerRunnerConformance } from "../testing/container-conformance.ts";

const socketPath = "/var/run/docker.sock";
const docker = new Docker({ socketPath });

runContainerRunnerConformance(t, "DockerRunner", {
  engines: () => [docker],
  async make(ownerId) {
    const runner = new DockerRunner({ ownerId, pool: { python: 1 } });
    await runner.start();
    return runner;
  },
});

runContainerRunnerConformance(t, "MultiEngineRunner, one engine", {
  engines: () => [docker],
  engineNames: ["local"],
  async make(ownerId) {
    const runner = new MultiEngineRunner({
      ownerId,
      engines: [{ name: "local", url: `unix://${socketPath}` }],
      pool: { python: 1 },
    });
    await runner.start();
    return runner;
  },
});
