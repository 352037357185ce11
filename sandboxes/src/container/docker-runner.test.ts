// Behaviour of the container runner against the real Docker engine (images from images/build).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "./docker-runner.ts";
import type { ContainerJob, ContainerLimits } from "./runner.ts";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const limits: ContainerLimits = { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 30_000 };
const runner = new DockerRunner({ pool: { python: 1 } });
const job = (image: string, code: string, extra: Partial<ContainerJob> = {}): ContainerJob => ({
  image,
  code,
  limits,
  ...extra,
});

before(async () => {
  await runner.start();
});

after(async () => {
  await runner.dispose();
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`mend.owner=${runner.ownerId}`] },
  });
  assert.equal(left.length, 0, "no container of this runner is left behind");
});

void describe("python", () => {
  void test("print(6*7) prints 42 and succeeds", async () => {
    const out = await runner.run(job("python", "print(6*7)"));
    assert.equal(out.status, "succeeded");
    assert.equal(out.stdout, "42\n");
    assert.equal(out.exitCode, 0);
    assert.ok(out.usage.wallMs > 0);
  });

  void test("files go in under /workspace and files under /workspace/out come back", async () => {
    const code =
      "import os\nrows = open('data/in.csv').read().splitlines()\nos.makedirs('out/sub', exist_ok=True)\nopen('out/sub/n.txt','w').write(str(len(rows)))\n";
    const out = await runner.run(
      job("python", code, { files: [{ path: "data/in.csv", content: Buffer.from("a\nb\nc\n") }] }),
    );
    assert.equal(out.status, "succeeded");
    assert.deepEqual(
      out.files.map((f) => [f.path, f.content.toString()]),
      [["sub/n.txt", "3"]],
    );
  });

  void test("stdin, argv and env reach the code", async () => {
    const code = "import sys, os\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ['GREETING'])";
    const out = await runner.run(
      job("python", code, { stdin: "hello", argv: ["x", "y"], env: { GREETING: "hi" } }),
    );
    assert.equal(out.stdout, "HELLO ['x', 'y'] hi\n");
  });

  void test("numpy, pandas and matplotlib import and plot to a file", async () => {
    const code = [
      "import numpy as np, pandas as pd, matplotlib.pyplot as plt, requests",
      "df = pd.DataFrame({'x': np.arange(5)})",
      "plt.plot(df.x, df.x ** 2)",
      "import os; os.makedirs('out', exist_ok=True); plt.savefig('out/plot.png')",
      "print(int(df.x.sum()))",
    ].join("\n");
    const out = await runner.run(job("python", code));
    assert.equal(out.status, "succeeded", out.stderr);
    assert.equal(out.stdout, "10\n");
    assert.equal(out.files[0]?.path, "plot.png");
    assert.equal(out.files[0]?.content.subarray(1, 4).toString(), "PNG");
  });

  void test("an uncaught exception is runtime_error at the user's line with user frames", async () => {
    const code = "x = 1\n\ndef f():\n    return {}['missing']\n\nf()\n";
    const out = await runner.run(job("python", code));
    assert.equal(out.status, "failed");
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "runtime_error");
    assert.equal(out.failure.location?.line, 4);
    assert.equal(out.failure.cause?.type, "KeyError");
    const frames = (out.failure.cause as unknown as { frames: { line: number }[] }).frames;
    assert.deepEqual(
      frames.map((f) => f.line),
      [6, 4],
    );
    assert.match(out.stderr, /KeyError/);
  });

  void test("a syntax error is syntax_error with line and column", async () => {
    const out = await runner.run(job("python", "a = 1\nb = (2 +\nprint(a)\n"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "syntax_error");
    assert.equal(out.failure.location?.line, 2);
    assert.equal(typeof out.failure.location?.column, "number");
  });

  void test("a missing module is missing_dependency naming the module", async () => {
    const out = await runner.run(job("python", "import json\nimport torchvision.models\n"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "missing_dependency");
    assert.equal(out.failure.module, "torchvision");
    assert.equal(out.failure.location?.line, 2);
  });

  void test("sys.exit(3) is nonzero_exit with the exit code", async () => {
    const out = await runner.run(job("python", "import sys\nprint('bye')\nsys.exit(3)"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "nonzero_exit");
    assert.equal(out.exitCode, 3);
    assert.equal(out.stdout, "bye\n");
  });
});

void describe("node and shell", () => {
  void test("node runs console.log(6*7)", async () => {
    const out = await runner.run(job("node", "console.log(6*7)"));
    assert.equal(out.status, "succeeded", out.stderr);
    assert.equal(out.stdout, "42\n");
  });

  void test("node runs ES modules with top-level await", async () => {
    const out = await runner.run(
      job(
        "node",
        "import { readFileSync } from 'node:fs';\nawait Promise.resolve();\nconsole.log(readFileSync('a.txt', 'utf8'));",
        { files: [{ path: "a.txt", content: Buffer.from("hi") }] },
      ),
    );
    assert.equal(out.status, "succeeded", out.stderr);
    assert.equal(out.stdout, "hi\n");
  });

  void test("node: a missing module is missing_dependency naming it", async () => {
    const out = await runner.run(job("node", "const x = 1;\nrequire('left-pad');\n"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "missing_dependency");
    assert.equal(out.failure.module, "left-pad");
  });

  void test("node: a syntax error gives its line", async () => {
    const out = await runner.run(job("node", "const a = 1;\nlet x = (;\n"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "syntax_error");
    assert.equal(out.failure.location?.line, 2);
  });

  void test("node: a thrown error is runtime_error at the user's line", async () => {
    const out = await runner.run(
      job("node", "const a = 1;\nfunction f() { throw new TypeError('boom'); }\nf();\n"),
    );
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "runtime_error");
    assert.equal(out.failure.location?.line, 2);
    assert.equal(out.failure.cause?.type, "TypeError");
  });

  void test("shell has jq, sqlite3 and curl and reads stdin", async () => {
    const code = "jq -r .a; sqlite3 :memory: 'select 6*7'; command -v curl >/dev/null && echo curl";
    const out = await runner.run(job("shell", code, { stdin: '{"a":"x"}' }));
    assert.equal(out.status, "succeeded", out.stderr);
    assert.equal(out.stdout, "x\n42\ncurl\n");
  });

  void test("shell: exit 5 is nonzero_exit", async () => {
    const out = await runner.run(job("shell", "echo no >&2; exit 5"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "nonzero_exit");
    assert.equal(out.exitCode, 5);
    assert.equal(out.stderr, "no\n");
  });
});

void describe("engine and images", () => {
  void test("an unknown image is image_unavailable", async () => {
    const out = await runner.run(job("no-such-runtime", "print(1)"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "image_unavailable");
    assert.equal(out.failure.retryable, false);
  });

  void test("an unreachable engine is sandbox_unavailable and retryable", async () => {
    const dead = new DockerRunner({ socketPath: "/nonexistent/docker.sock" });
    const out = await dead.run(job("python", "print(1)"));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "sandbox_unavailable");
    assert.equal(out.failure.retryable, true);
    assert.deepEqual(await dead.engineInfo(), { available: false });
    await dead.dispose();
  });

  void test("engineInfo and images report the engine and the runtime images", async () => {
    const info = await runner.engineInfo();
    assert.equal(info.available, true);
    assert.deepEqual(await runner.images(), ["node", "python", "shell"]);
  });

  void test("host misuse throws: an unsafe file path is rejected before any container starts", async () => {
    await assert.rejects(
      runner.run(job("python", "", { files: [{ path: "../x", content: Buffer.from("") }] })),
      TypeError,
    );
  });
});

void describe("warm pool", () => {
  void test("a pooled container serves exactly one job and is replaced", async () => {
    await runner.poolReady();
    const a = await runner.run(
      job(
        "python",
        "import socket; print(socket.gethostname(), open('/proc/self/cgroup').read().split('/')[-1].strip())",
      ),
    );
    await runner.poolReady();
    const b = await runner.run(
      job(
        "python",
        "import socket; print(socket.gethostname(), open('/proc/self/cgroup').read().split('/')[-1].strip())",
      ),
    );
    assert.equal(a.pooled, true);
    assert.equal(b.pooled, true);
    assert.equal(a.status, "succeeded", a.stderr);
    assert.notEqual(a.stdout, b.stdout, "two jobs never share a container");
    // removal runs in the background: wait for it (a loaded engine takes its time)
    let pooled = Infinity;
    for (const deadline = Date.now() + 60_000; pooled > 2 && Date.now() < deadline;) {
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`mend.owner=${runner.ownerId}`, "mend.pooled=1"] },
      });
      pooled = list.length;
      if (pooled > 2) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(pooled <= 2, "used pooled containers are removed");
  });

  void test("state written by one job is not visible to the next", async () => {
    await runner.run(
      job("python", "open('/tmp/secret','w').write('x'); open('/workspace/secret','w').write('x')"),
    );
    const out = await runner.run(
      job("python", "import os; print(os.path.exists('/tmp/secret'), os.path.exists('/workspace/secret'))"),
    );
    assert.equal(out.stdout, "False False\n");
  });

  void test("jobs with another limits class are served cold", async () => {
    const out = await runner.run(job("python", "print(1)", { limits: { ...limits, memoryMb: 128 } }));
    assert.equal(out.pooled, false);
    assert.equal(out.stdout, "1\n");
  });
});
