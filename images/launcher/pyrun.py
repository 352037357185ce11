# Hosts the user's Python code: started early by launch.py, waits for the job on its control fd,
# runs main.py as __main__ and reports an uncaught exception (kind, type, line, user frames) on its
# result fd, so line numbers are the user's own.
import json  # here, not when the job arrives: a warm container pays for it while idle
import os
import sys

CTL_FD = int(os.environ.pop("MEND_CONTROL_FD"))
RES_FD = int(os.environ.pop("MEND_RESULT_FD"))
os.set_inheritable(RES_FD, False)
os.set_inheritable(CTL_FD, False)

# Errno values (Linux) that mean "the network is not there" with --network none.
NET_ERRNOS = {101, 113, 99}  # ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL
NET_TEXT = (
    "Name or service not known",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No address associated with hostname",
    "nodename nor servname",
)
MAX_TEXT = 4000


def read_control():
    chunks = []
    while True:
        b = os.read(CTL_FD, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(CTL_FD)
    return json.loads(b"".join(chunks).decode("utf-8"))


def chain(exc):
    """The exception and everything it wraps (__cause__, __context__, .reason, exception args)."""
    seen = []
    todo = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if e is None or not isinstance(e, BaseException) or any(e is s for s in seen):
            continue
        seen.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None)])
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return seen


def classify(exc):
    import socket

    if isinstance(exc, SyntaxError):
        return "syntax_error"
    if isinstance(exc, ImportError):
        return "missing_dependency"
    if isinstance(exc, RecursionError):
        return "stack_overflow"
    if isinstance(exc, MemoryError):
        return "out_of_memory"
    for e in chain(exc):
        if isinstance(e, OSError) and e.errno == 28:
            return "disk_full"
        if isinstance(e, BlockingIOError) and e.errno == 11:
            return "pids_limit"
        if isinstance(e, RuntimeError) and "can't start new thread" in str(e):
            return "pids_limit"
        if isinstance(e, socket.gaierror):
            return "network_denied"
        if isinstance(e, OSError) and e.errno in NET_ERRNOS:
            return "network_denied"
        if any(t in str(e) for t in NET_TEXT):
            return "network_denied"
    return "runtime_error"


def describe(exc, main_path):
    import traceback

    kind = classify(exc)
    frames = [
        {"file": os.path.relpath(f.filename, "/workspace"), "line": f.lineno, "name": f.name, "code": f.line}
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith("/workspace/")
    ][-20:]
    info = {
        "kind": kind,
        "type": type(exc).__name__,
        "message": str(exc)[:MAX_TEXT],
        "frames": frames,
    }
    if isinstance(exc, SyntaxError):
        info["message"] = str(exc.msg)[:MAX_TEXT]
        info["line"] = exc.lineno
        info["column"] = exc.offset
        if exc.filename and exc.filename != main_path:
            info["file"] = os.path.relpath(exc.filename, "/workspace")
    elif frames:
        info["line"] = frames[-1]["line"]
    if isinstance(exc, ImportError):
        name = exc.name or ""
        if not name and "'" in str(exc):
            name = str(exc).split("'")[1]
        info["module"] = name.split(".")[0] if name else name
    for e in chain(exc):
        if isinstance(e, OSError) and e.errno is not None:
            info["errno"] = e.errno
            break
    info["stack"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-MAX_TEXT:]
    return info


def write_result(info):
    data = json.dumps(info).encode("utf-8")[:60000]
    try:
        os.write(RES_FD, data)
    except OSError:
        pass


def main():
    job = read_control()
    main_path = job["main"]
    os.chdir("/workspace")
    os.environ.update(job.get("env") or {})
    sys.argv = [main_path] + list(job.get("argv") or [])
    sys.path[0] = "/workspace"
    try:
        with open(main_path, "r", encoding="utf-8") as fh:
            source = fh.read()
        code = compile(source, main_path, "exec")
    except SyntaxError as exc:
        exc.__traceback__ = None
        write_result(describe(exc, main_path))
        sys.stderr.write("  File \"main.py\", line %s\n%s: %s\n" % (exc.lineno, type(exc).__name__, exc.msg))
        return 1
    import types

    mod = types.ModuleType("__main__")
    mod.__file__ = main_path
    mod.__builtins__ = __builtins__
    sys.modules["__main__"] = mod
    try:
        exec(code, mod.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - we report every uncaught exception
        import traceback

        try:
            sys.stdout.flush()
        except Exception:  # noqa: BLE001
            pass
        info = describe(exc, main_path)
        write_result(info)
        tb = exc.__traceback__
        # hide pyrun's own frame from the printed traceback
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("/workspace/"):
            tb = tb.tb_next
        try:
            sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
        except Exception:  # noqa: BLE001
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
