#!/usr/bin/python3
"""Idle CPU and insertion latency of card watchers on the test bed (run by bench/watch.sh).

    watch_bench.py RUNS IDLE_S INSERTIONS NAME=COMMAND_JSON...

Each tool is started in turn, RUNS rounds, so that a change in machine load hits every
tool alike. One run of a tool:

1. Start it with stdout on a pipe; a thread stamps each line with time.monotonic() and
   time.time() as it arrives. Wait 1 s for it to settle (start-up, the initial state it
   prints).
2. Idle: IDLE_S seconds with nothing happening. Its CPU time (user + system) over that
   window is the sum of its threads' run time from /proc/PID/task/*/schedstat (nanosecond
   resolution, where /proc/PID/stat counts in 10 ms ticks) at the start and at the end.
3. INSERTIONS times: remove the card through cardsim's control socket, wait for the tool
   to report it, then insert it. pcscd polls a vpcd slot every 400 ms, so the time from
   the `insert` command to pcscd seeing the card is the driver's and the same for every
   tool; the clock starts instead at the moment vpcd asks the new connection for its ATR,
   which is when pcscd takes the card: the first `atr` entry in cardsim's own log (wall
   clock, milliseconds, so a latency reads up to 1 ms high). Latency: from there to the
   wall-clock arrival of the tool's line reporting the insertion. As a cross-check, the
   same from the moment cardsim's answer to `insert` (given right after that ATR
   request) reaches this process, both ends on time.monotonic().
4. SIGTERM; the whole run's CPU time comes from wait4().

Prints, per tool, the median idle CPU over the window, the median latency (both ways)
and the worst (from the log), and the ratios of each tool to each one listed after it.
"""

import datetime
import json
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

# How each tool says a card went in or out (a regular expression on one line).
PATTERNS = {
    "inserted": {"cactool": r'"card_inserted"', "pcsc_scan": r"Card inserted",
                 "floor": r" inserted "},
    "removed": {"cactool": r'"card_removed"', "pcsc_scan": r"Card removed",
                "floor": r" removed$"},
}
EVENT_TIMEOUT = 10.0
SETTLE = 1.0


def control(command):
    """One command on cardsim's control socket; returns the answer and its arrival time."""
    path = os.path.join(os.environ["CACTOOL_TESTBED_DIR"], "cardsim.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("cardsim closed the control socket on %r" % command)
            data += chunk
        arrived = time.monotonic()
    answer = json.loads(data.split(b"\n", 1)[0])
    if not answer.get("ok"):
        raise RuntimeError("cardsim refused %r: %s" % (command, answer.get("error")))
    return answer, arrived


def log_time(text):
    """cardsim's RFC 3339 UTC time with milliseconds, as seconds since the epoch."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def cpu_ns(pid):
    """Run time of all the process's threads so far, in nanoseconds."""
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


class Tool:
    """A running watcher whose output lines arrive stamped in a queue."""

    def __init__(self, kind, command):
        self.kind = kind
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        buffer = b""
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            now, wall = time.monotonic(), time.time()
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self.lines.put((now, wall, line.decode(errors="replace")))
        self.lines.put(None)

    def drain(self):
        while True:
            try:
                if self.lines.get_nowait() is None:
                    raise RuntimeError("%s ended early: %s" % (self.kind, self.stderr()))
            except queue.Empty:
                return

    def wait_for(self, event):
        pattern = re.compile(PATTERNS[event][self.kind])
        deadline = time.monotonic() + EVENT_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            try:
                item = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise RuntimeError("%s reported no card %s within %.0f s" %
                                   (self.kind, event, EVENT_TIMEOUT)) from None
            if item is None:
                raise RuntimeError("%s ended early: %s" % (self.kind, self.stderr()))
            if pattern.search(item[2]):
                return item

    def stderr(self):
        try:
            return self.proc.stderr.read().decode(errors="replace").strip()
        except ValueError:
            return ""

    def stop(self):
        """SIGTERM, then the CPU time of the whole run in milliseconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, _, usage = os.wait4(self.proc.pid, 0)
        except ChildProcessError:
            usage = None
        self.proc.returncode = 0
        self.reader.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return None if usage is None else (usage.ru_utime + usage.ru_stime) * 1000


def one_run(kind, command, idle, insertions, results):
    control("insert")
    tool = Tool(kind, command)
    try:
        time.sleep(SETTLE)
        tool.drain()
        before = cpu_ns(tool.proc.pid)
        time.sleep(idle)
        after = cpu_ns(tool.proc.pid)
        tool.drain()
        results["idle_cpu_ms"].append((after - before) / 1e6)
        for _ in range(insertions):
            control("remove")
            tool.wait_for("removed")
            control("log --clear")
            _, inserted_at = control("insert")
            seen, seen_wall, _ = tool.wait_for("inserted")
            results["latency_answer_ms"].append((seen - inserted_at) * 1000)
            entries, _ = control("log")
            atr = [e for e in entries["entries"] if e.get("event") == "atr"]
            if not atr:
                raise RuntimeError("cardsim's log shows no ATR request after the insertion")
            results["latency_ms"].append((seen_wall - log_time(atr[0]["time"])) * 1000)
    finally:
        total = tool.stop()
    if total is not None:
        results["run_cpu_ms"].append(total)


def ratio(a, b):
    return "%.2f" % (a / b) if b > 0 else "n/a"


def main(argv):
    runs, idle, insertions = int(argv[1]), float(argv[2]), int(argv[3])
    tools = []
    for spec in argv[4:]:
        name, _, command = spec.partition("=")
        tools.append((name, json.loads(command)))
    keys = ["idle_cpu_ms", "run_cpu_ms", "latency_ms", "latency_answer_ms"]
    results = {name: {key: [] for key in keys} for name, _ in tools}
    for run in range(1, runs + 1):
        for name, command in tools:
            kind = "cactool" if name.startswith("cactool") else name
            print("run %d/%d: %s" % (run, runs, name), flush=True)
            one_run(kind, command, idle, insertions, results[name])

    medians = {}
    for name, _ in tools:
        medians[name] = {key: statistics.median(values) if values else float("nan")
                         for key, values in results[name].items()}
    print()
    print("Idle %.0f s, then %d insertions; medians of %d runs (latency: of all insertions)" %
          (idle, insertions, runs))
    print("%-10s %12s %12s %12s %12s %12s" %
          ("tool", "idle CPU ms", "run CPU ms", "latency ms", "worst ms", "(answer) ms"))
    for name, _ in tools:
        m = medians[name]
        print("%-10s %12.3f %12.1f %12.1f %12.1f %12.1f" %
              (name, m["idle_cpu_ms"], m["run_cpu_ms"], m["latency_ms"],
               max(results[name]["latency_ms"]), m["latency_answer_ms"]))
    print()
    print("%-20s %12s %12s" % ("ratio", "idle CPU", "latency"))
    names = [name for name, _ in tools]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            print("%-20s %12s %12s" % (
                "%s/%s" % (a, b), ratio(medians[a]["idle_cpu_ms"], medians[b]["idle_cpu_ms"]),
                ratio(medians[a]["latency_ms"], medians[b]["latency_ms"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
