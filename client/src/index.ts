// Public surface of @mend/client.
export { Mend } from "./mend.ts";
export type { MendOptions } from "./mend.ts";
export { MendApiError, MendConnectionError, MendFailure } from "./errors.ts";
export { DurableRun, unwrap } from "./durable-run.ts";
export type { DurableKeying } from "./durable-run.ts";
export { RunsApi } from "./runs-api.ts";
export { ToolsApi } from "./tools-api.ts";
export { CodeModeApi } from "./codemode-relay.ts";
export type { CodeModeRunOptions, HostedTool } from "./codemode-relay.ts";
export type { FetchLike, RetryOptions } from "./http.ts";
export type { RunEvent } from "./sse.ts";
export { canonicalJson } from "./canonical-json.ts";
export type {
  CacheStats,
  CodeModeAction,
  ContainerAction,
  CreateRun,
  ExecutionRequest,
  ExecutionResponse,
  Failure,
  FailureKind,
  FailureLayer,
  ForkRun,
  Health,
  Problem,
  RegisterTool,
  RelayEvent,
  RelayTool,
  Remedy,
  Run,
  RunStatus,
  RunOrigin,
  RunsPage,
  Step,
  StepAction,
  StepRequest,
  ToolInfo,
  Usage,
} from "./wire-types.ts";
