"""procstat.py - what the stress tests read of a running daemon in
/proc/PID/status (tests/stress: test_load.py, test_engine_idle.py,
engine_rss.py).  Python 3 stdlib only."""


def status_field(pid, name):
    """the number of /proc/PID/status line "name:" (VmRSS in kB)"""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s line for pid %d" % (name, pid))


def vmrss_kb(pid):
    return status_field(pid, "VmRSS")


def threads_of(pid):
    return status_field(pid, "Threads")
