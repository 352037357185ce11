# The in-container launcher: reads ONE JSON job on stdin, writes files to /workspace, runs the code
# and reports a structured result on stderr behind a per-job nonce marker the runner strips out.
#
# Protocol (stdin, one line):  {"nonce", "code", "files": [{"path", "contentBase64"}], "stdin",
#                               "argv", "env", "outMaxBytes"}
# Result (last stderr line):   "\n\x1eMEND-RESULT:<nonce>:" + JSON + "\n"
#   JSON = {"exitCode", "signal", "error"?: {kind, type, message, line, column, frames, module},
#           "outTarBase64"?, "outTruncated"?, "launcherError"?}
# The runtime child (python/node) is spawned BEFORE the job arrives, so a warm container only pays
# for writing files and running the user's code.
#
# The result channel is out of the user code's reach: the launcher makes itself non-dumpable before
# the job (and its nonce) arrives, so code running as the same uid can neither ptrace it nor read
# /proc/<launcher>/mem (and the seccomp profile refuses ptrace and process_vm_readv anyway); the
# user's processes get oom_score_adj 1000, so an OOM kill takes them before the launcher. After
# reporting, the launcher waits (up to HOLD_S, or until stdin closes or sends a line) so the host can
# read the container's cgroup through the engine while the container still exists; usage figures
# come from that host view. A runner that does not wait simply removes the container.
# Once the code's main process exits, every other process of the container's (what the code started in
# the background, double-forked or in a new session) is killed before the report: until the container is
# removed (a burst's hold delays that) they would keep using CPU, writing files under /workspace/out while
# it is collected, and counting in the usage read from the host.
import base64
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

WORKSPACE = "/workspace"
OUT_DIR = WORKSPACE + "/out"
HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = sys.argv[1] if len(sys.argv) > 1 else "python"
MAIN = {"python": "main.py", "node": "main.js", "shell": "main.sh"}
HOLD_S = 30
PIPE_BYTES = 60 * 1024
PR_SET_DUMPABLE = 4
# kill(-1) rounds until no process is left: a fork bomb's processes may fork between two rounds.
KILL_ROUNDS = 200
KILL_ROUND_PAUSE_S = 0.005


def harden_self():
    """Non-dumpable: same-uid processes may not ptrace us or open our /proc/<pid>/mem, fd, environ."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            return "prctl(PR_SET_DUMPABLE) failed: errno %d" % ctypes.get_errno()
    except (OSError, AttributeError) as e:
        return "prctl unavailable: %s" % e
    return None


def user_side(cmd):
    """The command, run first in line for the OOM killer. Through sh after exec: before exec the child
    is as non-dumpable as the launcher, and its /proc/self/oom_score_adj belongs to root."""
    return ["/bin/sh", "-c", 'echo 1000 >/proc/self/oom_score_adj 2>/dev/null; exec "$@"', "mend-user"] + cmd


def prespawn():
    """Starts the runtime host (pyrun.py / run.js), which blocks on its control pipe for the job."""
    if RUNTIME == "shell":
        return None
    ctl_r, ctl_w = os.pipe()
    res_r, res_w = os.pipe()
    env = dict(os.environ)
    env["MEND_CONTROL_FD"] = str(ctl_r)
    env["MEND_RESULT_FD"] = str(res_w)
    if RUNTIME == "python":
        cmd = [sys.executable, "-X", "utf8", os.path.join(HERE, "pyrun.py")]
    else:
        cmd = ["node", os.path.join(HERE, "run.js")]
    child = subprocess.Popen(user_side(cmd), stdin=subprocess.PIPE, pass_fds=(ctl_r, res_w), env=env, cwd=WORKSPACE)
    os.close(ctl_r)
    os.close(res_w)
    return {"proc": child, "ctl": ctl_w, "res": res_r}


def safe_path(rel):
    """Resolves a job file path under /workspace; refuses absolute paths and `..`."""
    norm = os.path.normpath(rel)
    if os.path.isabs(norm) or norm == ".." or norm.startswith("../") or norm in ("", "."):
        raise ValueError("file path escapes /workspace: %r" % rel)
    return os.path.join(WORKSPACE, norm)


def write_files(job):
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in job.get("files") or []:
        dest = safe_path(f["path"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(base64.b64decode(f.get("contentBase64") or ""))
    main = os.path.join(WORKSPACE, MAIN[RUNTIME])
    with open(main, "w", encoding="utf-8") as fh:
        fh.write(job.get("code") or "")
    return main


def feed_stdin(proc, data):
    """Feeds the code's stdin. Small inputs are written at once (they fit the pipe), so the launcher
    needs no thread once the code runs: a fork bomb leaves no room for one."""
    raw = data.encode("utf-8") if data else b""

    def run():
        try:
            if raw:
                proc.stdin.write(raw)
            proc.stdin.close()
        except OSError:
            pass

    if len(raw) <= PIPE_BYTES:
        run()
        return
    t = threading.Thread(target=run, daemon=True)
    t.start()


def collect_out(max_bytes):
    """Tars /workspace/out (regular files only, no symlinks followed) up to max_bytes."""
    if not os.path.isdir(OUT_DIR):
        return None, False
    # most jobs write no files: tarfile is not even imported for them
    if not any(True for _ in os.scandir(OUT_DIR)):
        return None, False
    import io
    import tarfile

    buf = io.BytesIO()
    total = 0
    truncated = False
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for root, dirs, names in os.walk(OUT_DIR):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                size = os.path.getsize(full)
                if total + size > max_bytes:
                    truncated = True
                    continue
                total += size
                tar.add(full, arcname=os.path.relpath(full, OUT_DIR), recursive=False)
    if total == 0 and not truncated:
        return None, False
    return base64.b64encode(buf.getvalue()).decode("ascii"), truncated


def read_text(path):
    try:
        with open(path, "r") as fh:
            return fh.read()
    except OSError:
        return None


def cgroup_stats():
    """Peak memory, CPU time, OOM kills and pids-limit hits of this container (cgroup v1 or v2)."""
    stats = {}
    v1 = "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"
    peak = read_text(v1) or read_text("/sys/fs/cgroup/memory.peak")
    if peak and peak.strip().isdigit():
        stats["memoryPeakBytes"] = int(peak)
    cpu = read_text("/sys/fs/cgroup/cpuacct/cpuacct.usage") or read_text("/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage")
    if cpu and cpu.strip().isdigit():
        stats["cpuNs"] = int(cpu)
    else:
        stat = read_text("/sys/fs/cgroup/cpu.stat") or ""
        for line in stat.splitlines():
            if line.startswith("usage_usec "):
                stats["cpuNs"] = int(line.split()[1]) * 1000
    oom = read_text("/sys/fs/cgroup/memory/memory.oom_control") or read_text("/sys/fs/cgroup/memory.events") or ""
    for line in oom.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "oom_kill" and parts[1].isdigit():
            stats["oomKills"] = int(parts[1])
    pids = read_text("/sys/fs/cgroup/pids/pids.events") or read_text("/sys/fs/cgroup/pids.events") or ""
    for line in pids.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "max" and parts[1].isdigit():
            stats["pidsMaxHits"] = int(parts[1])
    return stats


def container_init():
    """True when PID 1 is a container's init (docker-init, tini): a process reparented to the host's init
    (systemd) also has PID 1 as its parent, and must never kill(-1)."""
    try:
        with open("/proc/1/cmdline", "rb") as f:
            first = f.read(4096).split(b"\0", 1)[0]
    except OSError:
        return False
    return os.path.basename(first) in (b"docker-init", b"tini", b"tini-static")


def kill_leftovers():
    """SIGKILLs every process of the container but init and the launcher: kill(-1) reaches only the
    caller's PID namespace and spares its PID 1. Only inside the container's own namespace (the launcher
    is its init or init's child, as under `docker run --init`): in the host's, kill(-1) would reach every
    process of this uid. Repeats until none is left (a zombie still counts until init reaps it), so the
    processes a fork bomb starts between two rounds go too; returns how many rounds found one."""
    if os.getpid() != 1 and (os.getppid() != 1 or not container_init()):
        return 0
    rounds = 0
    for _ in range(KILL_ROUNDS):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError as e:
            if e.errno == errno.ESRCH:
                break
            return rounds
        rounds += 1
        # the launcher's own children (the code's host was waited for) are its to reap
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(KILL_ROUND_PAUSE_S)
    return rounds


def parse_reports(raw):
    """The JSON reports the runtime host (and forked copies of it) wrote to the result pipe."""
    reports = []
    decoder = json.JSONDecoder()
    pos = 0
    while len(reports) < 1000:
        while pos < len(raw) and raw[pos] != "{":
            pos += 1
        if pos >= len(raw):
            break
        try:
            obj, end = decoder.raw_decode(raw, pos)
        except ValueError:
            pos += 1
            continue
        reports.append(obj)
        pos = end
    return reports


def report(nonce, result):
    data = ("\n\x1eMEND-RESULT:%s:%s\n" % (nonce, json.dumps(result))).encode("utf-8")
    try:
        sys.stdout.flush()
    except OSError:
        pass
    for fd, payload in ((2, data), (1, ("\n\x1eMEND-END:%s\n" % nonce).encode("ascii"))):
        view = memoryview(payload)
        while view:
            n = os.write(fd, view)
            view = view[n:]


def seed_matplotlib_cache():
    """Copies the image's pre-built matplotlib font cache into the writable config dir."""
    src = "/opt/mend/mpl"
    dst = os.environ.get("MPLCONFIGDIR") or ""
    if RUNTIME != "python" or not dst or not os.path.isdir(src):
        return
    try:
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(src):
            if name.endswith(".json"):
                with open(os.path.join(src, name), "rb") as a, open(os.path.join(dst, name), "wb") as b:
                    b.write(a.read())
    except OSError:
        pass


def hold():
    """Keeps the container alive after the report until the host has read its cgroup (stdin sends a
    line or closes, or HOLD_S pass). poll(), not a thread: the process limit may be exhausted."""
    import select

    try:
        p = select.poll()
        p.register(0, select.POLLIN | select.POLLHUP)
        if p.poll(HOLD_S * 1000):
            os.read(0, 1)
    except OSError:
        pass


def main():
    hardening = harden_self()
    seed_matplotlib_cache()
    host = prespawn()
    line = sys.stdin.buffer.readline()
    job = json.loads(line.decode("utf-8"))
    nonce = str(job.get("nonce") or "")
    result = {"exitCode": None, "signal": None}
    if hardening is not None:
        result["hardening"] = hardening
    try:
        main_path = write_files(job)
    except OSError as e:
        # e.g. ENOSPC while writing the uploaded files
        result["launcherError"] = {"errno": e.errno, "message": str(e)}
        if host:
            host["proc"].kill()
        report(nonce, result)
        return 1
    except ValueError as e:
        result["launcherError"] = {"message": str(e)}
        if host:
            host["proc"].kill()
        report(nonce, result)
        return 1
    argv = [str(a) for a in (job.get("argv") or [])]
    env = {str(k): str(v) for k, v in (job.get("env") or {}).items()}
    if host is None:
        penv = dict(os.environ)
        penv.update(env)
        proc = subprocess.Popen(user_side(["bash", main_path] + argv), stdin=subprocess.PIPE, env=penv, cwd=WORKSPACE)
        res_fd = None
        feed_stdin(proc, job.get("stdin") or "")
    else:
        proc = host["proc"]
        # stdin first: once the code runs, the launcher may not get a thread (fork bombs)
        feed_stdin(proc, job.get("stdin") or "")
        msg = json.dumps({"main": main_path, "argv": argv, "env": env}).encode("utf-8")
        try:
            os.write(host["ctl"], msg)
        except OSError:
            pass
        os.close(host["ctl"])
        res_fd = host["res"]
    rc = proc.wait()
    kill_leftovers()
    if rc < 0:
        result["signal"] = -rc
        result["exitCode"] = 128 - rc
    else:
        result["exitCode"] = rc
    if res_fd is not None:
        os.set_blocking(res_fd, False)
        chunks = []
        try:
            while True:
                b = os.read(res_fd, 65536)
                if not b:
                    break
                chunks.append(b)
        except BlockingIOError:
            pass
        reports = parse_reports(b"".join(chunks).decode("utf-8", "replace"))
        if reports:
            # forked copies of the user's code may have reported too: the first report is the error,
            # and any fork refused with EAGAIN is counted (a fork bomb hits memory as well)
            result["error"] = reports[0]
            eagain = sum(1 for r in reports if isinstance(r, dict) and r.get("kind") == "pids_limit")
            if eagain:
                result["forkEagain"] = eagain
    result.update(cgroup_stats())
    try:
        tar_b64, truncated = collect_out(int(job.get("outMaxBytes") or 64 * 1024 * 1024))
        if tar_b64 is not None:
            result["outTarBase64"] = tar_b64
        if truncated:
            result["outTruncated"] = True
    except OSError as e:
        result["launcherError"] = {"errno": e.errno, "message": "collecting /workspace/out: %s" % e}
    report(nonce, result)
    hold()
    return result["exitCode"] if isinstance(result["exitCode"], int) else 1


if __name__ == "__main__":
    sys.exit(main())
