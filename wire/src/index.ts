// Public surface of the wire schemas: validators for the service, types for the client.
export {
  FAILURE_KINDS,
  FAILURE_LAYER,
  FailureKindSchema,
  FailureLayerSchema,
  FailureSchema,
  RemedySchema,
  makeFailure,
} from "./failure.ts";
export type { Failure, FailureKind, FailureLayer, Remedy } from "./failure.ts";
export {
  CODEMODE_ENGINES,
  CODEMODE_LANGUAGES,
  CodeModeEngineSchema,
  CodeModeLanguageSchema,
  enginesFor,
} from "./engines.ts";
export type { CodeModeEngineName, CodeModeLanguageName } from "./engines.ts";
export { MAX_JSON_DEPTH, jsonTextDepth, valueDepthExceeds } from "./json-depth.ts";
export { ProblemSchema, PROBLEM_TYPES } from "./problem.ts";
export type { Problem, ProblemType } from "./problem.ts";
export { HealthSchema } from "./health.ts";
export { UsageSchema } from "./usage.ts";
export type { Usage } from "./usage.ts";
export type { Health } from "./health.ts";
export {
  BlobFileSchema,
  CodeModeActionSchema,
  ContentFileSchema,
  CodeModeLimitsSchema,
  ContainerActionSchema,
  ContainerLimitsSchema,
  EgressRecordSchema,
  ExecutionRequestSchema,
  ExecutionResponseSchema,
  InputFileSchema,
  MAX_CODE_CHARS,
  OutputFileSchema,
  ToolActionSchema,
  ToolCallSummarySchema,
} from "./execution.ts";
export type {
  CodeModeAction,
  ContainerAction,
  EgressRecord,
  ExecutionRequest,
  ExecutionResponse,
  InputFile,
} from "./execution.ts";
export {
  CheckpointBodySchema,
  CheckpointSchema,
  CompleteBodySchema,
  CreateRunSchema,
  ForkRunSchema,
  InputBodySchema,
  InputMismatchSchema,
  ModelSpecSchema,
  RunEventSchema,
  RunSchema,
  RunStatusSchema,
  RunOriginSchema,
  RunsPageSchema,
  ListRunsQuerySchema,
  ExportRunsQuerySchema,
  StepActionSchema,
  StepKeySchema,
  StepKindSchema,
  StepRequestSchema,
  StepSchema,
} from "./run.ts";
export type {
  CreateRun,
  ForkRun,
  InputMismatch,
  Run,
  RunStatus,
  RunOrigin,
  RunsPage,
  Step,
  StepAction,
  StepRequest,
} from "./run.ts";
export {
  CacheRuleSchema,
  MCP_SERVER_NAME_PATTERN,
  McpServerInfoSchema,
  RegisterMcpServerSchema,
  RegisterToolSchema,
  TOOL_NAME_PATTERN,
  ToolInfoSchema,
  ToolNameSchema,
} from "./tools.ts";
export type { McpServerInfo, RegisterMcpServer, RegisterTool, ToolInfo } from "./tools.ts";
export { CacheClearedSchema, CacheStatsSchema, CheckpointPutSchema } from "./cache.ts";
export type { CacheStats } from "./cache.ts";
export { RelayAnswerSchema, RelayEventSchema, RelayStartSchema, RelayToolSchema } from "./relay.ts";
export type { RelayAnswer, RelayEvent, RelayStart, RelayTool } from "./relay.ts";
export { ROUTES, routeIndex } from "./routes.ts";
export type { HttpMethod, RouteResponse, RouteSpec } from "./routes.ts";
