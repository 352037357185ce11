// @mend/sandboxes/testing: the shared suites and fixtures every engine and runner implementation registers.
export { runConformanceSuite } from "./codemode-conformance.ts";
export { KEPT_PATTERNS, runMemoryConformanceSuite } from "./codemode-memory-conformance.ts";
export {
  MemoryJournal,
  TEST_LIMITS,
  TEST_TOOLS,
  pythonRequest,
  testInvoker,
  testRequest,
} from "./codemode-fixtures.ts";
export { runPythonConformanceSuite } from "./python-conformance.ts";
export type { TestApi } from "./test-api.ts";
export { runContainerRunnerConformance } from "./container-conformance.ts";
export type { ContainerRunnerFixture } from "./container-conformance.ts";
