// Attack scripts the container hostile suite runs inside the sandbox (Python source as strings).

/**
 * The forged-result attack: find the launcher, try to ptrace it and to read its memory for the job's
 * nonce, then print a fake "succeeded, exit 0, no usage" result behind every nonce it could get (and a
 * guessed one), and exit 7. As a control it reads the memory of a dumpable child of its own holding a
 * known secret, which shows that reading a process's memory works in the sandbox where it is allowed.
 */
export const FORGED_RESULT_ATTACK = String.raw`
import ctypes, json, os, re, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]

def find_nonce(pid, pattern):
    with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/mem' % pid, 'rb', 0) as mem:
        for line in maps.read().splitlines():
            fields = line.split()
            if not fields[1].startswith('rw'):
                continue
            lo, hi = (int(x, 16) for x in fields[0].split('-'))
            try:
                mem.seek(lo)
                m = re.search(pattern, mem.read(hi - lo))
            except (OSError, OverflowError, ValueError):
                continue
            if m:
                return m.group(1).decode()
    return None

launcher = None
for p in os.listdir('/proc'):
    if p.isdigit() and int(p) != os.getpid():
        try:
            if b'launch.py' in open('/proc/%s/cmdline' % p, 'rb').read():
                launcher = int(p)
        except OSError:
            pass
print('launcher found' if launcher else 'launcher not found')

r = libc.ptrace(16, launcher or 0, None, None)  # PTRACE_ATTACH
print('ptrace', 'attached' if r == 0 else 'refused')

nonce = None
try:
    nonce = find_nonce(launcher, rb'"nonce": ?"([0-9a-f]{24})"')
    print('launcher memory', 'nonce found' if nonce else 'read, no nonce')
except OSError:
    print('launcher memory refused')

# control: a dumpable process of the code's own, holding a secret in its memory
child = subprocess.Popen([sys.executable, '-c',
    'import sys,time; s = "".join(["SECRET-", "0123456789abcdef01234567"]); sys.stdout.write("ready\\n"); sys.stdout.flush(); time.sleep(60)'],
    stdout=subprocess.PIPE)
child.stdout.readline()
try:
    found = find_nonce(child.pid, rb'SECRET-([0-9a-f]{24})')
    print('control memory', 'secret found' if found else 'read, no secret')
except OSError:
    print('control memory refused')
child.kill()

fake = json.dumps({'exitCode': 0, 'signal': None, 'memoryPeakBytes': 1, 'cpuNs': 1, 'oomKills': 0})
for n in ([nonce] if nonce else []) + ['0' * 24]:
    sys.stderr.write('\n\x1eMEND-RESULT:%s:%s\n' % (n, fake))
    sys.stderr.flush()
    sys.stdout.write('\n\x1eMEND-END:%s\n' % n)
    sys.stdout.flush()
os._exit(7)
`;

/** Calls each refused syscall directly (x86_64 numbers) and prints `name errno`; then threads and a subprocess. */
export const SYSCALL_PROBE = String.raw`
import ctypes, errno, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
calls = [
    ('io_uring_setup', 425, (1, 0)),
    ('ptrace', 101, (0, 0, 0, 0)),
    ('process_vm_readv', 310, (1, 0, 0, 0, 0, 0)),
    ('process_vm_writev', 311, (1, 0, 0, 0, 0, 0)),
    ('keyctl', 250, (0, 0, 0, 0)),
    ('add_key', 248, (0, 0, 0, 0, 0)),
    ('userfaultfd', 323, (0,)),
    ('bpf', 321, (0, 0, 0)),
    ('perf_event_open', 298, (0, 0, 0, 0, 0)),
    ('unshare', 272, (0x10000000,)),
    ('setns', 308, (0, 0)),
    ('mount', 165, (0, 0, 0, 0, 0)),
    ('clone_newuser', 56, (0x10000000 | 17, 0, 0, 0, 0)),
]
for name, nr, args in calls:
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name, 'allowed' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), '?'))
t = threading.Thread(target=lambda: print('thread ok'))
t.start()
t.join()
print(subprocess.run(['bash', '-c', 'echo subprocess ok'], capture_output=True, text=True).stdout.strip())
`;
