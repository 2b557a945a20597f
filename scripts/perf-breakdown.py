#!/usr/bin/env python3
"""Where a perf recording's CPU went: each sample is put under the outermost
system call on its stack (or "user" / "kernel, other"), then the top
user-space symbols. Used by scripts/profile-engine.sh.

    python3 scripts/perf-breakdown.py perf.data [top-N]
"""
import subprocess
import sys
from collections import Counter

SYSCALLS = [
    ("__sys_sendto", "send (sendto)"),
    ("do_writev", "send (writev, REST)"),
    ("do_epoll_wait", "epoll_wait (sleeping and waking)"),
    ("__sys_recvfrom", "recv"),
    ("__sys_connect", "connect"),
    ("__x64_sys_socket", "socket"),
    ("__x64_sys_close", "close"),
    ("__x64_sys_epoll_ctl", "epoll_ctl"),
    ("__x64_sys_futex", "futex"),
    ("asm_exc_page_fault", "page faults"),
]


def main():
    data = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    script = subprocess.run(
        ["perf", "script", "-i", data], capture_output=True, text=True, check=True
    ).stdout
    where, user, total = Counter(), Counter(), 0
    for block in script.split("\n\n"):
        frames = [l.strip() for l in block.strip().split("\n")[1:] if l.strip()]
        if not frames:
            continue
        total += 1
        name = next((n for key, n in SYSCALLS if any(key in f for f in frames)), None)
        if name is None:
            if "[kernel.kallsyms]" in frames[0]:
                name = "kernel, other"
            else:
                name = "user space"
                sym = frames[0].split(" ", 1)[-1].rsplit(" (", 1)[0].split("+0x")[0]
                user[sym[:100]] += 1
        where[name] += 1
    print(f"{total} samples")
    for name, n in where.most_common():
        print(f"{100 * n / total:6.1f}%  {name}")
    print(f"top {top} user-space symbols (% of all samples):")
    for sym, n in user.most_common(top):
        print(f"{100 * n / total:6.2f}%  {sym}")


if __name__ == "__main__":
    main()
