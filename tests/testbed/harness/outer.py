"""The outer part: finds the tools, makes the state folder, re-executes run under
unshare(1) as the inner part, forwards signals to it and removes the state folder."""

import ctypes
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .errors import EXIT_BED, BedError, say
from .processes import KILL_GRACE
from .terminal import foreground_terminal, take_back_terminal


def find_tool(variable, relative, checkout):
    """A tool from its environment variable, else the newest build*/ of the checkout."""
    if os.environ.get(variable):
        return os.path.abspath(os.environ[variable])
    found = [p for p in glob.glob(os.path.join(checkout, 'build*', relative))
             if os.access(p, os.X_OK)]
    if not found:
        raise BedError(f'cannot find {os.path.basename(relative)}: set {variable} or build '
                       f'it (meson setup build -Dtests=true; ninja -C build)')
    return max(found, key=os.path.getmtime)


def unshare_command(args):
    command = ['unshare']
    if os.geteuid() != 0:
        # A user namespace lets an ordinary user own the new mount and network namespaces.
        command.append('--map-root-user')
    command += ['--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
                '--kill-child=SIGTERM']
    if not args.share_net:
        command.append('--net')
    return command


def die_with_parent():
    # If the outer part is killed outright, unshare follows it, and --kill-child sends
    # the inner part SIGTERM: it tears the bed down and removes the state folder as
    # after any other SIGTERM.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


class Outer:
    def __init__(self, args, argv, script):
        self.args = args
        self.argv = argv
        self.script = script  # run, by its absolute path, to re-execute inside unshare
        self.unshare = None
        self.signalled = None

    def main(self):
        if os.environ.get('CACTOOL_TESTBED_DIR'):
            # The outer bed hides the machine's reader drivers, so an inner one could not
            # start; and it is nearly always a mistake (a test that runs run twice).
            say('already inside a test bed (CACTOOL_TESTBED_DIR is set): run COMMAND '
                'directly, or start the bed from outside one')
            return EXIT_BED
        try:
            tools = self.find_tools()
        except BedError as error:
            say(str(error))
            return EXIT_BED
        if not shutil.which('unshare'):
            say('unshare (util-linux) is needed to give the bed its own namespaces')
            return EXIT_BED
        state = tempfile.mkdtemp(prefix='cactool-testbed-')
        if self.args.keep:
            say(f'state folder: {state}')
        try:
            return self.run_inner(state, tools)
        finally:
            if not self.args.keep:
                shutil.rmtree(state, ignore_errors=True)

    def find_tools(self):
        checkout = os.path.dirname(os.path.dirname(os.path.dirname(self.script)))
        return {'cardsim': find_tool('CACTOOL_CARDSIM', 'tests/testbed/cardsim/cardsim',
                                     checkout),
                'cardctl': find_tool('CACTOOL_CARDCTL', 'tests/testbed/cardctl', checkout)}

    def run_inner(self, state, tools):
        """The inner part's exit status, or run's own if it did not get to run."""
        # The inner part writes one byte here as it starts: without it, unshare failed.
        ready_read, ready_write = os.pipe()
        terminal = foreground_terminal()
        self.start_unshare(state, tools, terminal is not None, ready_write)
        try:
            status = self.wait_unshare()
        finally:
            take_back_terminal(terminal)
        started = os.read(ready_read, 1) == b'1'
        os.close(ready_read)
        if self.signalled:
            return 128 + self.signalled
        if not started:
            say('could not enter new mount, network and PID namespaces (see unshare\'s '
                'message above): run as root, or allow unprivileged user namespaces '
                '(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)')
            return EXIT_BED
        return status

    def start_unshare(self, state, tools, terminal, ready_write):
        inner = json.dumps({'state': state, 'ready_fd': ready_write,
                            'terminal': terminal, **tools})
        command = unshare_command(self.args) + [
            sys.executable, self.script, '--inner', inner] + self.argv
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)
        # The bed gets a process group of its own: a signal to run's whole group (what
        # timeout -k, a CI cancellation or the terminal's Ctrl-C during start-up send)
        # then reaches this outer part alone, which passes it on to the inner part. Left
        # in run's group, pcscd and cardsim would die of it as if broken, and a SIGKILL
        # there would kill the inner part before it removes the state folder.
        self.unshare = subprocess.Popen(command, pass_fds=[ready_write], process_group=0,
                                        preexec_fn=die_with_parent)
        os.close(ready_write)

    def wait_unshare(self):
        deadline = None
        while True:
            try:
                status = self.unshare.wait(timeout=0.1)
                return status if status >= 0 else 128 - status
            except subprocess.TimeoutExpired:
                pass
            if self.signalled and deadline is None:
                # The inner part tears down in at most two grace periods; give it a
                # margin, then kill unshare, which takes the namespace with it.
                deadline = time.monotonic() + 3 * KILL_GRACE
            if deadline is not None and time.monotonic() > deadline:
                self.unshare.kill()

    def on_signal(self, signum, frame):
        self.signalled = self.signalled or signum
        inner = self.inner_pid()
        if inner:
            os.kill(inner, signum)
        elif self.unshare:
            self.unshare.kill()

    def inner_pid(self):
        """The host PID of the inner part: unshare's only child (unshare itself ignores
        SIGINT and SIGTERM while it waits, so signals go straight to the child)."""
        pid = self.unshare.pid if self.unshare else None
        try:
            with open(f'/proc/{pid}/task/{pid}/children') as children:
                pids = children.read().split()
        except OSError:
            return None
        return int(pids[0]) if pids else None
