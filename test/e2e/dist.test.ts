// The bundle (dist/, what npm start, the image and the benchmarks run): built fresh from the sources,
// it starts without TypeScript type stripping and finds everything it loads by path at run time — the
// QuickJS worker, the Monty child process and thread, the Docker runner's lazy chunk, the UI's script,
// the service's package.json — while serving health, a journaled step and its replay.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { DIST, ENTRIES, inputsHash, staleness } from "../../scripts/build-dist.ts";
import { serviceEntry, startService, useDist, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

const run = promisify(execFile);
const SERVICE_VERSION = (
  JSON.parse(readFileSync(new URL("../../service/package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

let svc: ServiceProcess;

before(async () => {
  await useDist(); // rebuilds dist/ when it is missing or older than the sources
  // No type stripping: a .ts module loaded at run time (main thread or QuickJS worker) fails the start.
  svc = await startService({}, undefined, { execArgv: ["--no-experimental-strip-types"] });
});
after(async () => {
  await svc?.stop();
});

void describe("dist/", () => {
  void it("is built from the current sources and is what startService now spawns", () => {
    assert.equal(staleness(), null);
    const built = JSON.parse(readFileSync(`${DIST}/build.json`, "utf8")) as { inputs: string };
    assert.equal(built.inputs, inputsHash());
    for (const name of Object.keys(ENTRIES)) assert.ok(readFileSync(`${DIST}/${name}.js`, "utf8").length > 0);
    assert.equal(serviceEntry().kind, "dist");
  });

  void it("starts and logs its start-up phases", () => {
    const line = svc.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.msg === "mend listening");
    const phases = line?.startupMs as Record<string, number> | undefined;
    assert.ok(phases, "no startupMs in the listening line");
    for (const k of ["modules", "services", "listen", "total", "cpu"])
      assert.equal(typeof phases[k], "number", k);
  });

  void it("serves /healthz with the store, the version and the container engines (their lazy chunk loaded)", async () => {
    const { status, body } = await call<any>(svc.url, "GET", "/healthz");
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.ok, true);
    assert.equal(body.version, SERVICE_VERSION);
    assert.equal(body.store.kind, "sqlite");
    assert.ok(Array.isArray(body.engines) && body.engines.length >= 1, JSON.stringify(body));
  });

  void it("journals a client-driven step and replays it", async () => {
    const created = await call<{ id: string }>(svc.url, "POST", "/v1/runs", { mode: "client" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const step = { key: "s1", action: { type: "tool", tool: "sleep", args: { ms: 0 } } };
    const first = await call<any>(svc.url, "POST", `/v1/runs/${created.body.id}/steps`, step);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, "succeeded");
    assert.notEqual(first.body.replayed, true);
    const again = await call<any>(svc.url, "POST", `/v1/runs/${created.body.id}/steps`, step);
    assert.equal(again.body.replayed, true, JSON.stringify(again.body));
  });

  void it("runs JavaScript code-mode in its QuickJS worker and Python in its Monty child process", async () => {
    const js = await call<any>(svc.url, "POST", "/v1/executions", {
      sandbox: "codemode",
      language: "javascript",
      code: "return 6 * 7",
    });
    assert.equal(js.body.status, "succeeded", JSON.stringify(js.body));
    assert.equal(js.body.result, 42);
    const py = await call<any>(svc.url, "POST", "/v1/executions", {
      sandbox: "codemode",
      language: "python",
      code: "6 * 7",
    });
    assert.equal(py.body.status, "succeeded", JSON.stringify(py.body));
    assert.equal(py.body.result, 42);
  });

  void it("serves /metrics from its lazily loaded prom-client chunk, with the steps it journaled", async () => {
    const res = await fetch(`${svc.url}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(text, /^mend_process_process_cpu_user_seconds_total /m);
    assert.match(text, /^mend_steps_total\{[^}]*\} [1-9]/m); // the step journaled above, reported before the chunk loaded
  });

  void it("serves the inspector's script (a file read by path)", async () => {
    const res = await fetch(`${svc.url}/ui/assets/inspector.js`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /inspector/i);
  });

  void it("imports Node's built-ins without their ESM facade (which would load Node's undici for node:http)", () => {
    for (const f of readdirSync(DIST).filter((n) => n.endsWith(".js"))) {
      const imports = [...readFileSync(`${DIST}/${f}`, "utf8").matchAll(/from "(node:[^"]+)"/g)].map(
        (m) => m[1],
      );
      // node:module is the banner's (createRequire for bundled CommonJS): its facade has no such getter.
      assert.deepEqual(
        imports.filter((m) => m !== "node:module"),
        [],
        `${f} imports a built-in through ESM`,
      );
    }
  });

  void it("keeps its compile cache when killed with -9: the next start loads its modules from the cache", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mend-compile-cache-"));
    const first = await startService({ NODE_COMPILE_CACHE: cacheDir });
    try {
      // Written after listening, off the first requests' path; poll for the marker it leaves.
      const marked = () =>
        readdirSync(cacheDir, { recursive: true }).some((f) => String(f).includes("-serving"));
      const deadline = Date.now() + 60_000;
      while (!marked() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(marked(), "no compile cache written after listening");
      first.child.kill("SIGKILL");
      await first.exited;
      // The next process loads the same chunk of the service's modules: V8 takes its code from the cache.
      const { stderr } = await run(process.execPath, [`${DIST}/mend.js`, "version"], {
        env: { ...process.env, NODE_COMPILE_CACHE: cacheDir, NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
      });
      assert.match(stderr, /V8 code cache for ESM \S*\/commands-\S*\.js was accepted/, stderr);
    } finally {
      await first.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  void it("keeps parsed policies beside the compile cache, keyed by their text: an edited policy is read anew", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mend-compile-cache-"));
    const policiesDir = mkdtempSync(join(tmpdir(), "mend-policies-"));
    cpSync(new URL("../../policies", import.meta.url), policiesDir, { recursive: true });
    const env = { NODE_COMPILE_CACHE: cacheDir, MEND_POLICIES_DIR: policiesDir };
    const dataDir = mkdtempSync(join(tmpdir(), "mend-e2e-"));
    // The default policy's version as a new run records it, from a fresh start of `entry`.
    const versionFrom = async (entry: "dist" | "sources"): Promise<string> => {
      const s = await startService(env, dataDir, { entry });
      try {
        const run = await call<{ policyVersion?: string }>(s.url, "POST", "/v1/runs", { mode: "client" });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        assert.ok(run.body.policyVersion, JSON.stringify(run.body));
        return run.body.policyVersion;
      } finally {
        await s.stop();
      }
    };
    const kept = () =>
      readdirSync(cacheDir, { recursive: true }).filter((f) => /mend-[0-9a-f]+-policy-/.test(String(f)));
    try {
      const parsed = await versionFrom("dist");
      assert.ok(kept().length >= 1, "no parsed policy kept");
      assert.equal(await versionFrom("dist"), parsed, "the kept policy differs from the parsed one");
      assert.equal(await versionFrom("sources"), parsed, "the sources (no kept policies) see another policy");
      const file = join(policiesDir, "default.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace(/^description: .*$/m, "description: edited"));
      const edited = await versionFrom("dist");
      assert.notEqual(edited, parsed, "an edited policy file was not read anew");
      assert.equal(await versionFrom("sources"), edited);
    } finally {
      for (const d of [cacheDir, policiesDir, dataDir]) rmSync(d, { recursive: true, force: true });
    }
  });

  void it("reads a kept policy back only from a cache folder no other user can write", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mend-compile-cache-"));
    const dataDir = mkdtempSync(join(tmpdir(), "mend-e2e-"));
    const env = { NODE_COMPILE_CACHE: cacheDir };
    const versionNow = async (): Promise<string> => {
      const s = await startService(env, dataDir);
      try {
        const run = await call<{ policyVersion?: string }>(s.url, "POST", "/v1/runs", { mode: "client" });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        return run.body.policyVersion!;
      } finally {
        await s.stop();
      }
    };
    try {
      const parsed = await versionNow();
      const files = readdirSync(cacheDir, { recursive: true })
        .map(String)
        .filter((f) => /mend-[0-9a-f]+-policy-.*\.json$/.test(f))
        .map((f) => join(cacheDir, f));
      assert.ok(files.length >= 1, "no parsed policy kept");
      // Another value under the same key: what a user who could write the folder would plant.
      for (const f of files) {
        const kept = JSON.parse(readFileSync(f, "utf8")) as { key: string; value: Record<string, unknown> };
        writeFileSync(f, JSON.stringify({ key: kept.key, value: { ...kept.value, description: "planted" } }));
      }
      const folder = dirname(files[0]!);
      chmodSync(folder, 0o777);
      assert.equal(await versionNow(), parsed, "a kept policy was read from a folder others can write");
      chmodSync(folder, 0o700);
      // Control: the same files in a folder only this user can write are read back (the check above is what refused them).
      assert.notEqual(await versionNow(), parsed, "the kept policy was not read back from an own folder");
    } finally {
      for (const d of [cacheDir, dataDir]) rmSync(d, { recursive: true, force: true });
    }
  });

  void it("answers `mend version` from the bundle", async () => {
    const { stdout } = await run(process.execPath, [`${DIST}/mend.js`, "version"]);
    assert.equal(stdout.trim(), SERVICE_VERSION);
  });
});
