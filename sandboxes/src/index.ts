// Public surface of @mend/sandboxes: code-mode engines, the container runner's interfaces, and their helpers.
// The Docker runners themselves are @mend/sandboxes/docker (docker.ts): importing this index loads no dockerode.
export type {
  CodeModeEngine,
  CodeModeEngines,
  CodeModeLanguage,
  CodeModeLimits,
  CodeModeOutcome,
  CodeModeRequest,
  CodeModeUsage,
  InterpreterSnapshot,
  JsonSchema,
  ToolBinding,
  ToolCallJournal,
  ToolCallRecord,
  ToolInvoker,
} from "./codemode/engine.ts";
export type {
  ContainerFile,
  ContainerJob,
  ContainerLimits,
  ContainerNetwork,
  ContainerOutcome,
  ContainerRunner,
  ContainerUsage,
  EngineState,
  PoolState,
} from "./container/runner.ts";
export { dockerOptionsFor } from "./container/engine-hosts.ts";
export type { EngineHost } from "./container/engine-hosts.ts";
export { validateAgainstSchema, assertUsableSchema } from "./json-schema/validate.ts";
export type { SchemaError } from "./json-schema/validate.ts";
export { patternProblem, MAX_PATTERN_CHARS } from "./json-schema/linear-pattern.ts";
export { BRIDGE_LIMITS } from "./codemode/bridge-limits.ts";
export { FairGate } from "./fair-share/fair-gate.ts";
export type { FairGateOptions, Lease } from "./fair-share/fair-gate.ts";
export { FairContainerRunner } from "./fair-share/fair-container-runner.ts";
export type { FairContainerRunnerOptions } from "./fair-share/fair-container-runner.ts";
export type { SandboxLoad, TenantLoad } from "./fair-share/sandbox-load.ts";
export { hardenedSpec, imageRef, limitsClass } from "./container/host-config.ts";
export { sweepOrphans } from "./container/janitor.ts";
export { allowlistCheck, parseAllowEntry } from "./egress/egress-check.ts";
export type { EgressCheck, EgressLookup, EgressVerdict } from "./egress/egress-check.ts";
export type { EgressCheckFactory } from "./egress/egress-session.ts";
export type { EgressRecord } from "./egress/egress-proxy.ts";
export { mendSeccompProfile, DENIED_SYSCALLS, CONTAINER_RUNTIMES } from "./container/seccomp-profile.ts";
export type { ContainerRuntime, SeccompProfile } from "./container/seccomp-profile.ts";
export { QuickJsEngine } from "./codemode/quickjs/quickjs-engine.ts";
export type { QuickJsEngineOptions } from "./codemode/quickjs/quickjs-engine.ts";
export { ToolCallBroker } from "./codemode/tool-calls.ts";
export type { ToolCallSettlement } from "./codemode/tool-calls.ts";
export { canonicalJson } from "./codemode/canonical-json.ts";
export { generateToolsDts, schemaToTs } from "./codemode/tools-dts.ts";
export { generateToolsPyi } from "./codemode/tools-pyi.ts";
export { MontyEngine } from "./codemode/monty/monty-engine.ts";
export type { MontyEngineOptions } from "./codemode/monty/monty-engine.ts";
export { V8Engine } from "./codemode/v8/v8-engine.ts";
export { classifyAddress, describeRange } from "./destination/address-range.ts";
export type { ClassifiedAddress } from "./destination/address-range.ts";
export { parseDestinationRule } from "./destination/destination-rules.ts";
export type { DestinationRule } from "./destination/destination-rules.ts";
export { checkDestination, compileRules, decideAddress } from "./destination/destination-check.ts";
export type {
  Destination,
  DestinationDecision,
  DestinationDenial,
  DestinationPolicy,
} from "./destination/destination-check.ts";
export { readHostsFile, systemResolver } from "./destination/resolver.ts";
export type { ResolvedAddress, Resolver } from "./destination/resolver.ts";
