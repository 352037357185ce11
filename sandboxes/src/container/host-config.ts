// The hardened container spec every Mend execution gets (pooled or not): one place, no exceptions.
import type { ContainerCreateOptions } from "dockerode";
import type { ContainerLimits } from "./runner.ts";
import { seccompSecurityOpt, type ContainerRuntime } from "./seccomp-profile.ts";

/** uid:gid the code runs as from the first instruction (Debian's `nobody`). */
export const SANDBOX_USER = "65534:65534";

/** Maps a runtime short name to its image reference. */
export function imageRef(image: string): string {
  return image.includes(":") || image.includes("/") ? image : `mend-runtime-${image}:latest`;
}

/** Short runtime name of an image reference (inverse of imageRef for Mend images). */
export function runtimeName(image: string): string {
  const m = /^mend-runtime-([a-z0-9_-]+)(?::.*)?$/.exec(image);
  return m?.[1] ?? image;
}

export interface SpecInput {
  image: string;
  limits: ContainerLimits;
  labels: Record<string, string>;
  name?: string;
  /** Allowlist jobs: the job network to join and the proxy variables; absent means no network. */
  egress?: { network: string; env: Record<string, string> };
  /** OCI runtime; default runc. runsc (gVisor) must be registered with the engine under that name. */
  runtime?: ContainerRuntime;
}

/**
 * Builds the create options: no network, read-only rootfs, size-capped tmpfs, non-root, no
 * capabilities, no-new-privileges, Mend's seccomp profile, pids/memory(=swap)/CPU limits, ulimits,
 * init, and the OCI runtime (runc, or runsc for gVisor).
 * @example
 * await docker.createContainer(hardenedSpec({ image: "python", limits, labels: { "mend": "1" } }));
 */
export function hardenedSpec(input: SpecInput): ContainerCreateOptions {
  const { limits } = input;
  const runtime = input.runtime ?? "runc";
  const memoryBytes = Math.round(hostMemoryMb(limits, runtime) * 1024 * 1024);
  const diskBytes = Math.round(limits.diskMb * 1024 * 1024);
  const egress = input.egress;
  const tmpfsOpts = `rw,nosuid,nodev,size=${diskBytes},uid=65534,gid=65534,mode=0755`;
  return {
    ...(input.name === undefined ? {} : { name: input.name }),
    Image: imageRef(input.image),
    User: SANDBOX_USER,
    WorkingDir: "/workspace",
    Hostname: "sandbox",
    Labels: input.labels,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: false,
    Tty: false,
    NetworkDisabled: egress === undefined,
    ...(egress === undefined ? {} : { Env: Object.entries(egress.env).map(([k, v]) => `${k}=${v}`) }),
    HostConfig: {
      NetworkMode: egress?.network ?? "none",
      // allowlist: names resolve only through the proxy (nothing answers DNS), and no IPv6 at all
      ...(egress === undefined
        ? {}
        : { Dns: ["127.0.0.1"], DnsSearch: [], Sysctls: { "net.ipv6.conf.all.disable_ipv6": "1" } }),
      ReadonlyRootfs: true,
      Tmpfs: {
        "/tmp": `${tmpfsOpts},noexec`,
        "/workspace": `${tmpfsOpts},exec`,
      },
      ShmSize: Math.min(diskBytes, 16 * 1024 * 1024),
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges", seccompSecurityOpt(runtime)],
      Runtime: runtime,
      Privileged: false,
      PidsLimit:
        runtime === "runsc" ? limits.pids * RUNSC_HOST_PIDS_PER_TASK + RUNSC_SENTRY_THREADS : limits.pids,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      Ulimits: [
        { Name: "nofile", Soft: 1024, Hard: 1024 },
        { Name: "fsize", Soft: diskBytes, Hard: diskBytes },
        // under gVisor the code's process limit is enforced inside the sandbox (RLIMIT_NPROC counts the
        // sandbox's own tasks there); under runc it would count every container's uid-65534 processes
        ...(runtime === "runsc" ? [{ Name: "nproc", Soft: limits.pids, Hard: limits.pids }] : []),
      ],
      Init: true,
      AutoRemove: false,
      Binds: [],
      Mounts: [],
      IpcMode: "private",
      LogConfig: { Type: "none", Config: {} },
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    },
  };
}

/**
 * gVisor's own cost, charged to the container's host cgroup: the Sentry (its kernel, ~30 MiB) and
 * about 3 MiB per task (its ptrace stub and kernel state; measured: 64 forked Pythons peak at ~400 MiB
 * under runsc, ~200 MiB under runc). Without it a fork bomb under the default limits (256 MiB, 64
 * processes) runs out of memory before it meets the process limit. Capped at the code's own limit so
 * a small memory limit stays small (500 MB in a 64 MiB container is still out_of_memory).
 */
const RUNSC_BASE_MB = 64;
const RUNSC_MB_PER_TASK = 3;
/** Host pids per sandbox task under runsc (ptrace stub processes, Sentry threads), and a floor. */
const RUNSC_HOST_PIDS_PER_TASK = 16;
const RUNSC_SENTRY_THREADS = 512;

/**
 * The memory limit of the container's host cgroup: the code's limit, plus gVisor's overhead under runsc.
 * @example hostMemoryMb({ ...limits, memoryMb: 256, pids: 64 }, "runsc") // 512
 */
export function hostMemoryMb(limits: ContainerLimits, runtime: ContainerRuntime): number {
  if (runtime !== "runsc") return limits.memoryMb;
  return limits.memoryMb + Math.min(RUNSC_BASE_MB + RUNSC_MB_PER_TASK * limits.pids, limits.memoryMb);
}

/** Key of the warm pool a job can be served from: only what is baked into the container. */
export function limitsClass(
  image: string,
  limits: ContainerLimits,
  runtime: ContainerRuntime = "runc",
): string {
  const network = limits.network === "none" ? "none" : `allowlist:${limits.network.hosts.join(",")}`;
  const key = [imageRef(image), limits.memoryMb, limits.cpus, limits.diskMb, limits.pids, network];
  // runc keys keep their old spelling (other code and logs know them)
  return (runtime === "runc" ? key : [...key, runtime]).join("|");
}
