// Mend's seccomp profile and the runtime-dependent parts of the hardened spec, as data (no engine).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hardenedSpec, hostMemoryMb, limitsClass } from "./host-config.ts";
import { DENIED_SYSCALLS, mendSeccompProfile, seccompSecurityOpt } from "./seccomp-profile.ts";
import { DEFAULT_CONTAINER_LIMITS } from "./docker-runner.ts";

const allowedNames = (runtime: "runc" | "runsc"): Set<string> =>
  new Set(
    mendSeccompProfile(runtime)
      .syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW" && r.args === undefined)
      .flatMap((r) => r.names),
  );

describe("mendSeccompProfile", () => {
  it("refuses by default and allows none of the denied syscalls unconditionally", () => {
    for (const runtime of ["runc", "runsc"] as const) {
      const p = mendSeccompProfile(runtime);
      assert.equal(p.defaultAction, "SCMP_ACT_ERRNO");
      const allowed = allowedNames(runtime);
      for (const name of DENIED_SYSCALLS) assert.ok(!allowed.has(name), `${runtime} allows ${name}`);
    }
  });

  it("allows clone only without namespace flags", () => {
    const rule = mendSeccompProfile("runc").syscalls.find((r) => r.names.includes("clone"));
    assert.equal(rule?.args?.[0]?.op, "SCMP_CMP_MASKED_EQ");
    assert.equal(rule?.args?.[0]?.valueTwo, 0);
    // CLONE_NEWUSER (0x10000000) and CLONE_NEWNET (0x40000000) are in the mask
    assert.ok(((rule?.args?.[0]?.value ?? 0) & 0x50000000) === 0x50000000);
  });

  it("answers clone3 with ENOSYS under runc; under runsc gVisor does (its filter ignores errnoRet)", () => {
    const runc = mendSeccompProfile("runc").syscalls.find((r) => r.names.includes("clone3"));
    assert.deepEqual([runc?.action, runc?.errnoRet], ["SCMP_ACT_ERRNO", 38]);
    assert.ok(allowedNames("runsc").has("clone3"));
    assert.ok(allowedNames("runsc").has("pselect"), "gVisor's name for pselect6");
    assert.ok(!allowedNames("runc").has("pselect"));
  });

  it("is what the hardened spec applies, with the runtime", () => {
    for (const runtime of ["runc", "runsc"] as const) {
      const spec = hardenedSpec({ image: "python", limits: DEFAULT_CONTAINER_LIMITS, labels: {}, runtime });
      assert.equal(spec.HostConfig?.Runtime, runtime);
      assert.deepEqual(spec.HostConfig?.SecurityOpt, ["no-new-privileges", seccompSecurityOpt(runtime)]);
    }
  });
});

describe("gVisor sizing", () => {
  it("runc gets the code's limits as they are", () => {
    const spec = hardenedSpec({ image: "python", limits: DEFAULT_CONTAINER_LIMITS, labels: {} });
    assert.equal(spec.HostConfig?.Memory, DEFAULT_CONTAINER_LIMITS.memoryMb * 1024 * 1024);
    assert.equal(spec.HostConfig?.PidsLimit, DEFAULT_CONTAINER_LIMITS.pids);
    assert.ok(!spec.HostConfig?.Ulimits?.some((u) => u.Name === "nproc"));
  });

  it("runsc adds gVisor's overhead to the host limits (at most the code's memory again) and enforces pids inside", () => {
    const limits = { ...DEFAULT_CONTAINER_LIMITS, memoryMb: 256, pids: 64 };
    assert.equal(hostMemoryMb(limits, "runsc"), 512);
    assert.equal(hostMemoryMb({ ...limits, memoryMb: 64, pids: 128 }, "runsc"), 128);
    const spec = hardenedSpec({ image: "python", limits, labels: {}, runtime: "runsc" });
    assert.equal(spec.HostConfig?.Memory, 512 * 1024 * 1024);
    assert.ok((spec.HostConfig?.PidsLimit ?? 0) > 64 * 8);
    assert.deepEqual(
      spec.HostConfig?.Ulimits?.find((u) => u.Name === "nproc"),
      { Name: "nproc", Soft: 64, Hard: 64 },
    );
  });

  it("keeps a warm pool per runtime (runc keys unchanged)", () => {
    const runc = limitsClass("python", DEFAULT_CONTAINER_LIMITS);
    assert.equal(limitsClass("python", DEFAULT_CONTAINER_LIMITS, "runc"), runc);
    assert.notEqual(limitsClass("python", DEFAULT_CONTAINER_LIMITS, "runsc"), runc);
  });
});
