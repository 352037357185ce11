// The floor of a code-mode execution in process: bare quickjs-emscripten (the same wasm build Mend's workers
// load), a new runtime and context per run on the calling thread, tools answered by the host.
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import * as releaseSync from "@jitl/quickjs-wasmfile-release-sync";

/** A host tool of the bare peer: JSON in, JSON out, at once or later (a promise). */
export type BareTool = (args: unknown) => unknown;

/**
 * Runs scripts the way a bare embedding would: no worker, no limits beyond QuickJS's own, no journal. The
 * script's body is wrapped in an async function (top-level await and return), like Mend's guests.
 * @example const q = await BareQuickJs.load(); const v = q.run("return 1", { echo: (a) => a })
 */
export class BareQuickJs {
  readonly #module: QuickJSWASMModule;

  private constructor(module: QuickJSWASMModule) {
    this.#module = module;
  }

  static async load(): Promise<BareQuickJs> {
    // The package's types describe its CommonJS build; under ESM its default export is the variant itself.
    const variant = (releaseSync as unknown as { default: QuickJSSyncVariant }).default;
    return new BareQuickJs(await newQuickJSWASMModuleFromVariant(variant));
  }

  /** Runs `code` in a new runtime with `tools` as `tools.<name>(args)` returning promises; the result as JSON. */
  async run(code: string, tools: Record<string, BareTool>): Promise<unknown> {
    const runtime = this.#module.newRuntime();
    runtime.setMemoryLimit(32 * 1024 * 1024);
    const ctx = runtime.newContext();
    try {
      let wake = (): void => {};
      const toolsObject = ctx.newObject();
      const parse = ctx.unwrapResult(ctx.evalCode("JSON.parse"));
      for (const [name, tool] of Object.entries(tools)) {
        const fn = ctx.newFunction(name, (argsHandle) => {
          const args = ctx.dump(argsHandle) as unknown;
          const deferred = ctx.newPromise();
          // The host answers on a later microtask (or later still), as a tool call would; the guest awaits it.
          void Promise.resolve(tool(args)).then((value) => {
            const text = ctx.newString(JSON.stringify(value) ?? "null");
            const result = ctx.unwrapResult(ctx.callFunction(parse, ctx.undefined, text));
            deferred.resolve(result);
            result.dispose();
            text.dispose();
            deferred.dispose();
            wake();
          });
          return deferred.handle;
        });
        ctx.setProp(toolsObject, name, fn);
        fn.dispose();
      }
      ctx.setProp(ctx.global, "tools", toolsObject);
      toolsObject.dispose();
      const promise = ctx.unwrapResult(ctx.evalCode(`(async () => {${code}\n})()`));
      try {
        for (;;) {
          runtime.executePendingJobs();
          const state = ctx.getPromiseState(promise);
          if (state.type === "fulfilled") {
            const value = ctx.dump(state.value) as unknown;
            state.value.dispose();
            return value;
          }
          if (state.type === "rejected") {
            const error = ctx.dump(state.error) as unknown;
            state.error.dispose();
            throw new Error(`script failed: ${JSON.stringify(error)}`);
          }
          // Pending on a tool call: wait for the next answer to land.
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        promise.dispose();
        parse.dispose();
      }
    } finally {
      ctx.dispose();
      runtime.dispose();
    }
  }
}
