// One lint configuration for the whole repository: type-aware, so floating promises are caught, and layered,
// so an import that runs up the architecture (README "Layout") fails the build.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** The service's layers, top first: a module may import its own layer and the layers below it. */
const SERVICE_LAYERS = [
  ["cli"],
  ["server.ts"],
  ["edge"],
  ["services"],
  ["loop"],
  ["engine"],
  ["tools"],
  ["core", "auth"],
  ["store", "policy", "llm"],
  ["config", "log", "lib", "version.ts"],
];

const PRODUCTION_IGNORES = ["**/*.test.ts", "**/testing/**"];
const esc = (name) => name.replace(/[.]/g, "\\.");
/** A relative specifier that reaches into one of `names` (a folder, or a top-level file). */
const reaching = (names) =>
  `^\\.\\.?/(?:.*/)?(?:${names.map((n) => (n.endsWith(".ts") ? `${esc(n)}$` : `${n}/`)).join("|")})`;

const NO_TEST_FRAMEWORK = {
  name: "node:test",
  allowTypeImports: true,
  message: "Production code loads no test framework: shared suites take it as a parameter (testing/).",
};
const NO_HONO = {
  regex: "^(hono|@hono/.+)(/.*)?$",
  message: "Only service/src/edge speaks HTTP: move this into edge/ or take a plain value from it.",
};
const NO_SQLITE = {
  regex: "(^|/)sqlite/",
  message:
    "Only the composition root (service/src/services) knows the store's backends: use the Store interface.",
};

const NO_OBSERVABILITY_SDK = {
  regex: "^(prom-client|@opentelemetry/.+)$",
  message:
    "Only service/src/services holds the metrics and tracing SDKs: report through lib/telemetry.ts or lib/tracing.ts.",
};

/** One block per service layer (flat config replaces rule options per file, so each block is complete). */
const layerBlocks = SERVICE_LAYERS.map((layer, i) => {
  const above = SERVICE_LAYERS.slice(0, i).flat();
  const patterns = [];
  if (above.length > 0)
    patterns.push({
      regex: reaching(above),
      message: `service/src/${layer.join(", ")} may not import a layer above it (${above.join(", ")}).`,
    });
  if (!layer.includes("edge")) patterns.push(NO_HONO);
  if (!layer.includes("services")) patterns.push(NO_SQLITE, NO_OBSERVABILITY_SDK);
  return {
    files: layer.map((n) => (n.endsWith(".ts") ? `service/src/${n}` : `service/src/${n}/**/*.ts`)),
    ignores: PRODUCTION_IGNORES,
    rules: { "no-restricted-imports": ["error", { paths: [NO_TEST_FRAMEWORK], patterns }] },
  };
});

const packageBlocks = [
  {
    files: ["sandboxes/src/**/*.ts"],
    ignores: PRODUCTION_IGNORES,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [NO_TEST_FRAMEWORK],
          patterns: [
            NO_HONO,
            {
              regex: "^@mend/(service|client)$",
              message: "Sandboxes know nothing of the service or its clients.",
            },
            {
              regex: "^\\.\\./\\.\\./\\.\\./",
              message: "Sandboxes import only their own package and @mend/wire.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["wire/src/**/*.ts"],
    ignores: PRODUCTION_IGNORES,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [NO_TEST_FRAMEWORK],
          patterns: [
            NO_HONO,
            {
              regex: "^@mend/",
              message: "The wire schemas are the bottom layer: they import no other workspace.",
            },
            { regex: "^\\.\\./\\.\\./", message: "The wire schemas import only their own package." },
          ],
        },
      ],
    },
  },
  {
    files: ["client/src/**/*.ts"],
    ignores: ["**/*.test.ts", "client/src/build/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [NO_TEST_FRAMEWORK],
          patterns: [
            {
              regex: "^@mend/",
              message: "The client imports no @mend/* package: its wire types are generated.",
            },
            {
              regex: "^\\.\\./\\.\\./",
              message: "The client imports only its own files (it is published alone).",
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", ".tools/**", "data/**", "**/dist/**", "test-output/**", "images/**/*.js"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["it", "describe", "test", "suite", "before", "after", "beforeEach", "afterEach"],
            },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "no-restricted-syntax": [
        "error",
        { selector: "ExportAllDeclaration", message: "Use named exports, not export *." },
      ],
    },
  },
  ...layerBlocks,
  ...packageBlocks,
  {
    // The sandbox hosts run guest-driven work off the request path: a rejected promise nobody awaits
    // there ends the process (a tool call's host path once did). `void p` is allowed only when p is
    // handled (`.catch(…)`, or `.then(…, onRejected)`).
    // Not yet sandboxes/src/codemode/monty/ (another helper's engine; four `void` sites there to give a
    // .catch: child-pool.ts warm(), python-run.ts #callTool ×2 and #lastSnapshot.then).
    files: ["sandboxes/src/**/*.ts"],
    ignores: [...PRODUCTION_IGNORES, "sandboxes/src/codemode/monty/**"],
    rules: {
      "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: false }],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off", "@typescript-eslint/no-explicit-any": "off" },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
);
