// The part of a test framework the shared suites use, so they never load one themselves.
import type * as NodeTest from "node:test";

/**
 * What a conformance suite receives: `describe`, `it`, `before` and `after` with node:test's signatures.
 * @example import * as t from "node:test"; runConformanceSuite(t, "quickjs", makeEngine)
 */
export type TestApi = Pick<typeof NodeTest, "describe" | "it" | "before" | "after">;
