// The hardened container spec every Mend execution gets (pooled or not): one place, no exceptions.
import type { ContainerCreateOptions } from "dockerode";
import type { ContainerLimits } from "./runner.ts";

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
}

/**
 * Builds the create options: no network, read-only rootfs, size-capped tmpfs, non-root, no
 * capabilities, no-new-privileges, default seccomp, pids/memory(=swap)/CPU limits, ulimits, init.
 * @example
 * await docker.createContainer(hardenedSpec({ image: "python", limits, labels: { "mend": "1" } }));
 */
export function hardenedSpec(input: SpecInput): ContainerCreateOptions {
  const { limits } = input;
  const memoryBytes = Math.round(limits.memoryMb * 1024 * 1024);
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
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      PidsLimit: limits.pids,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      Ulimits: [
        { Name: "nofile", Soft: 1024, Hard: 1024 },
        { Name: "fsize", Soft: diskBytes, Hard: diskBytes },
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

/** Key of the warm pool a job can be served from: only what is baked into the container. */
export function limitsClass(image: string, limits: ContainerLimits): string {
  const network = limits.network === "none" ? "none" : `allowlist:${limits.network.hosts.join(",")}`;
  return [imageRef(image), limits.memoryMb, limits.cpus, limits.diskMb, limits.pids, network].join("|");
}
