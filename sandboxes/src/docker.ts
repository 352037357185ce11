// @mend/sandboxes/docker: the container runners over Docker engines (dockerode and its module tree).
// An entry of its own so that what imports the package index loads no dockerode: the service loads this
// once it listens (service/src/services/lazy-container-runner.ts), not while it starts.
export { MultiEngineRunner } from "./container/multi-engine-runner.ts";
export type { EngineSpec, MultiEngineRunnerOptions } from "./container/multi-engine-runner.ts";
export { DockerRunner, DEFAULT_CONTAINER_LIMITS } from "./container/docker-runner.ts";
export type { DockerRunnerOptions } from "./container/docker-runner.ts";
