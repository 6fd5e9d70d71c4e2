"""The inner part's children: started with a log in the state folder, reaped by one
thread, stopped with SIGTERM then SIGKILL."""

import os
import signal
import subprocess
import threading
import time

from .errors import BedError

# How long a process gets between SIGTERM and SIGKILL at teardown.
KILL_GRACE = 3.0


def describe_status(status):
    """Words for a wait status: 'exited with status 1' or 'was killed by signal SIGKILL'."""
    if os.WIFSIGNALED(status):
        return f'was killed by signal {signal.Signals(os.WTERMSIG(status)).name}'
    return f'exited with status {os.waitstatus_to_exitcode(status)}'


def shell_status(status):
    """COMMAND's status as a shell reports it: the exit code, or 128 + the signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def last_lines(path, count=10):
    try:
        with open(path, errors='replace') as log:
            lines = log.read().splitlines()[-count:]
    except OSError:
        return ''
    return ''.join(f'\n  | {line}' for line in lines)


class Proc:
    def __init__(self, name, popen):
        self.name = name
        self.pid = popen.pid
        self.popen = popen
        self.status = None
        self.expected = False  # stopped on purpose (teardown or harness.sock)


class Reaper:
    """The only caller of waitpid(): records every exit, so any thread can wait for a
    child with a timeout, and PID 1's orphans do not pile up as zombies."""

    def __init__(self):
        self.cv = threading.Condition()
        self.exits = {}
        threading.Thread(target=self.loop, daemon=True, name='reaper').start()

    def loop(self):
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.02)
                continue
            with self.cv:
                self.exits[pid] = status
                self.cv.notify_all()

    def wait(self, proc, timeout):
        """proc's wait status, or None if it is still running after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while proc.status is None and proc.pid not in self.exits:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(min(left, 0.1))
            if proc.status is None:
                # Taken out, so a later process given the same PID is not seen as ended.
                proc.status = self.exits.pop(proc.pid)
                proc.popen.returncode = shell_status(proc.status)
            return proc.status


class Processes:
    """The bed's children by name (pcscd, cardsim, cardctl, COMMAND), their logs in the
    state folder and the pids file. Any thread may use it."""

    def __init__(self, state, keep):
        self.state = state
        self.keep = keep  # whether the state folder (and the logs) outlive run
        self.reaper = Reaper()
        self.lock = threading.Lock()  # self.procs
        self.procs = {}

    def spawn(self, name, argv, log_name, env=None, expected=False):
        log = open(os.path.join(self.state, log_name), 'ab')
        try:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=env)
        except OSError as error:
            raise BedError(f'cannot start {name} ({argv[0]}): {error.strerror}')
        finally:
            log.close()
        proc = Proc(name, popen)
        proc.expected = expected
        return self.add(proc)

    def add(self, proc):
        with self.lock:
            self.procs[proc.name] = proc
        return proc

    def forget(self, name):
        with self.lock:
            self.procs.pop(name, None)

    def get(self, name):
        with self.lock:
            return self.procs.get(name)

    def running(self, name):
        proc = self.get(name)
        return proc if proc is not None and proc.status is None else None

    def wait(self, proc, timeout):
        return self.reaper.wait(proc, timeout)

    def stop(self, proc, group=False):
        """SIGTERM, a bounded wait, then SIGKILL. For COMMAND, both go to its whole
        process group, and SIGKILL goes even when the leader has gone: its children may
        not have."""
        if proc is None:
            return
        proc.expected = True
        send = os.killpg if group else os.kill
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.wait(proc, 0) is not None and not group:
                return
            try:
                send(proc.pid, sig)
                if sig == signal.SIGTERM:
                    # A stopped process acts on SIGTERM only once it runs again.
                    send(proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                # Gone and reaped, perhaps between the two signals: its status is (about to
                # be) recorded, and taking it marks proc as ended for running().
                self.wait(proc, KILL_GRACE)
                return
            self.wait(proc, KILL_GRACE)

    def kill_group(self, proc):
        """SIGKILL to proc's whole process group, at once."""
        proc.expected = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop_all(self):
        """COMMAND's whole group first, then the bed's own processes."""
        with self.lock:
            procs = dict(self.procs)
        self.stop(procs.get('COMMAND'), group=True)
        for name, proc in procs.items():
            if name != 'COMMAND':
                self.stop(proc)

    def see_log(self, log_name):
        """The log's last lines, to end a message with; without --keep the log is gone
        by the time anyone reads the message, so it says so instead of 'see NAME.log'."""
        lines = last_lines(os.path.join(self.state, log_name))
        if self.keep:
            return f'see {log_name}' + lines
        removed = 'the state folder is removed at exit (run --keep keeps it)'
        return f'{removed}; {log_name} ends:{lines}' if lines else f'{removed}; {log_name} is empty'

    def check_alive(self, proc, when):
        """BedError naming how proc ended, if it has."""
        status = self.wait(proc, 0)
        if status is not None:
            raise BedError(f'{proc.name} {describe_status(status)} {when}; '
                           + self.see_log(f'{proc.name}.log'))

    def write_pids(self):
        with self.lock:
            lines = ''.join(f'{name}={self.procs[name].pid}\n' for name in ('pcscd', 'cardsim')
                            if name in self.procs and self.procs[name].status is None)
        path = os.path.join(self.state, 'pids')
        with open(path + '.new', 'w') as pids:
            pids.write(lines)
        os.replace(path + '.new', path)
