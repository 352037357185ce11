// Mend's own seccomp profile for every container: an allowlist of what Python, Node and bash need.
// Why our own: Docker 20.10's default allows io_uring_*, ptrace and process_vm_readv/writev (the
// forged-result attack read the launcher's memory with them); our containers drop every capability,
// so nothing that needs one is listed, and namespaces, keyrings, BPF and perf events are refused too.

/** Syscalls the sandbox refuses although Docker's default profile allows (or may allow) them. */
export const DENIED_SYSCALLS = [
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "kcmp",
  "pidfd_getfd",
  "process_madvise",
  "keyctl",
  "add_key",
  "request_key",
  "userfaultfd",
  "bpf",
  "perf_event_open",
  "unshare",
  "setns",
  "mount",
  "umount2",
  "open_by_handle_at",
  "name_to_handle_at",
  "io_setup",
  "io_submit",
  "io_getevents",
  "io_pgetevents",
  "io_cancel",
  "io_destroy",
  "fanotify_init",
  "fanotify_mark",
  "remap_file_pages",
  "memfd_secret",
  "mbind",
  "set_mempolicy",
  "move_pages",
  "migrate_pages",
  "landlock_create_ruleset",
  "landlock_add_rule",
  "landlock_restrict_self",
  "chroot",
  "pivot_root",
  "acct",
  "syslog",
  "vhangup",
  "reboot",
  "kexec_load",
  "init_module",
  "finit_module",
  "delete_module",
  "quotactl",
  "swapon",
  "swapoff",
  "sethostname",
  "setdomainname",
  "iopl",
  "ioperm",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
] as const;

// Grouped by purpose so a reviewer can see why each is here; x86_64 and aarch64 names (runc skips a
// name the architecture lacks).
const ALLOWED: Record<string, string> = {
  files: `
    read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 open openat openat2
    creat close close_range lseek dup dup2 dup3 stat fstat lstat newfstatat statx statfs fstatfs
    access faccessat faccessat2 readlink readlinkat getdents getdents64 getcwd chdir fchdir mkdir
    mkdirat rmdir rename renameat renameat2 unlink unlinkat link linkat symlink symlinkat chmod
    fchmod fchmodat chown fchown fchownat lchown umask truncate ftruncate fallocate fadvise64
    readahead fsync fdatasync sync syncfs sync_file_range flock fcntl ioctl utime utimes utimensat
    futimesat mknod mknodat copy_file_range sendfile splice tee vmsplice getxattr lgetxattr
    fgetxattr listxattr llistxattr flistxattr setxattr lsetxattr fsetxattr removexattr lremovexattr
    fremovexattr inotify_init inotify_init1 inotify_add_watch inotify_rm_watch memfd_create
  `,
  memory: `
    brk mmap munmap mremap mprotect madvise mincore msync mlock mlock2 munlock mlockall munlockall
    membarrier pkey_alloc pkey_free pkey_mprotect get_mempolicy
  `,
  processes: `
    execve execveat fork vfork exit exit_group wait4 waitid kill tkill tgkill getpid getppid gettid
    getpgid setpgid getpgrp getsid setsid getuid geteuid getgid getegid getresuid getresgid
    getgroups setuid setgid setreuid setregid setresuid setresgid setgroups setfsuid setfsgid capget
    capset prctl arch_prctl set_tid_address set_robust_list get_robust_list rseq getrlimit setrlimit
    prlimit64 getrusage getpriority setpriority sched_yield sched_getaffinity sched_setaffinity
    sched_getparam sched_setparam sched_getscheduler sched_setscheduler sched_getattr sched_setattr
    sched_get_priority_max sched_get_priority_min sched_rr_get_interval ioprio_get ioprio_set
    pidfd_open pidfd_send_signal seccomp restart_syscall modify_ldt set_thread_area get_thread_area
    uname sysinfo getcpu getrandom times
  `,
  signals: `
    rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait
    rt_sigqueueinfo rt_tgsigqueueinfo sigaltstack signalfd signalfd4 pause alarm getitimer setitimer
  `,
  time: `
    clock_gettime clock_getres clock_nanosleep nanosleep gettimeofday time timer_create timer_delete
    timer_gettime timer_settime timer_getoverrun timerfd_create timerfd_gettime timerfd_settime
  `,
  waiting: `
    futex futex_waitv poll ppoll select pselect6 epoll_create epoll_create1 epoll_ctl epoll_wait
    epoll_pwait epoll_pwait2 eventfd eventfd2 pipe pipe2
  `,
  // sockets stay usable for local IPC (and the loopback interface); the network itself is off
  sockets: `
    socketpair bind listen accept accept4 connect getsockname getpeername getsockopt setsockopt
    shutdown sendto sendmsg sendmmsg recvfrom recvmsg recvmmsg
  `,
  // SysV and POSIX message queues: private to the container (IpcMode private)
  ipc: `
    shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd msgrcv msgctl mq_open
    mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr
  `,
};

/** The clone flags that create namespaces (CLONE_NEWNS … CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME). */
const CLONE_NAMESPACE_FLAGS = 0x7e020080;
const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;

/** The profile in Docker's JSON format (as `docker run --security-opt seccomp=FILE` reads it). */
export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ERRNO";
  defaultErrnoRet: number;
  archMap: { architecture: string; subArchitectures: string[] }[];
  syscalls: {
    names: string[];
    action: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
  }[];
}

/** The OCI runtimes Mend runs containers on: runc (namespaces) and runsc (gVisor). */
export const CONTAINER_RUNTIMES = ["runc", "runsc"] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];

/**
 * Builds Mend's seccomp profile: refuses by default (EPERM), allows what the runtimes need.
 * @example JSON.stringify(mendSeccompProfile("runc")).includes("io_uring_setup") // true: an ERRNO rule
 */
export function mendSeccompProfile(runtime: ContainerRuntime = "runc"): SeccompProfile {
  const denied = new Set<string>(DENIED_SYSCALLS);
  const listed = Object.values(ALLOWED).flatMap((group) => group.trim().split(/\s+/));
  // gVisor's own syscall table names pselect6 `pselect`; a name it does not know it skips
  if (runtime === "runsc") listed.push("pselect");
  const names = [...new Set(listed)].filter((n) => !denied.has(n)).sort();
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    // 32-bit syscall tables are not listed: a 32-bit process gets EPERM for everything
    archMap: [
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: [] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: [] },
    ],
    syscalls: [
      { names, action: "SCMP_ACT_ALLOW" },
      // threads and fork, but no new namespaces (an unprivileged user namespace would be one)
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
      // clone3's flags sit in memory a filter cannot read: ENOSYS makes glibc fall back to clone.
      // gVisor's filter ignores errnoRet (a refused clone3 is EPERM, and glibc then fails every
      // thread), but gVisor itself answers ENOSYS to clone3, so under runsc it passes the filter.
      runtime === "runsc"
        ? { names: ["clone3"], action: "SCMP_ACT_ALLOW" }
        : { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
      // io_uring: ENOSYS, so libuv and others fall back to their thread pools quietly
      {
        names: ["io_uring_setup", "io_uring_enter", "io_uring_register"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: ENOSYS,
      },
      {
        names: ["socket"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: AF_VSOCK, op: "SCMP_CMP_NE" }],
      },
      ...[0, 8, 0x20000, 0x20008, 0xffffffff].map((value) => ({
        names: ["personality"],
        action: "SCMP_ACT_ALLOW" as const,
        args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
      })),
    ],
  };
}

const cached = new Map<ContainerRuntime, string>();

/**
 * The `SecurityOpt` entry that applies the profile (the Engine API takes the JSON itself).
 * @example hostConfig.SecurityOpt = ["no-new-privileges", seccompSecurityOpt("runc")];
 */
export function seccompSecurityOpt(runtime: ContainerRuntime): string {
  let opt = cached.get(runtime);
  if (opt === undefined) {
    opt = `seccomp=${JSON.stringify(mendSeccompProfile(runtime))}`;
    cached.set(runtime, opt);
  }
  return opt;
}
