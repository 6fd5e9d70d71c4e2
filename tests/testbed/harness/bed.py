"""The inner part, PID 1 of the new namespaces: builds the bed, runs COMMAND and tears
the bed down, whatever happens."""

import json
import os
import signal
import time

from .card import Card
from .command import run_command
from .control import ControlServer
from .errors import EXIT_BED, BedError, Interrupted, say
from .namespace import hide_usb_drivers, loopback_up, private_run_pcscd, remove_state
from .pcscd import Pcscd
from .processes import Processes


class Bed:
    """What the pieces of one bed share: the options, the state folder, the tools, the
    processes and the signal run received."""

    def __init__(self, args, inner):
        self.args = args
        self.state = inner['state']
        self.cardsim_exe = inner['cardsim']
        self.cardctl_exe = inner['cardctl']
        self.terminal = inner['terminal']
        self.timeout = args.timeout
        self.signalled = None
        self.procs = Processes(self.state, args.keep)
        self.pcscd = Pcscd(self)
        self.card = Card(self)
        self.control = ControlServer(self)

    def path(self, name):
        return os.path.join(self.state, name)

    def start(self):
        if not self.args.share_net:
            loopback_up()

        self.pcscd.copy_drivers()
        private_run_pcscd(self.state)
        hide_usb_drivers()

        self.pcscd.pick_port()
        self.pcscd.write_reader_conf()
        self.pcscd.start()

        self.card.start()
        if not self.args.no_card:
            self.card.wait_present()

        self.procs.write_pids()
        self.control.start()

    def wait_until(self, ready, failed):
        """Poll ready() until true; BedError(failed()) after --timeout, Interrupted on a
        signal. ready may raise BedError itself (a process died while we waited)."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self.signalled:
                raise Interrupted(self.signalled)
            if ready():
                return
            if time.monotonic() > deadline:
                raise BedError(failed())
            time.sleep(0.02)

    def command_env(self):
        env = dict(os.environ)
        env.update({'CACTOOL_TESTBED_DIR': self.state,
                    'CACTOOL_TESTBED_READER': self.pcscd.reader_names()[0],
                    'CACTOOL_TESTBED_CARD': self.path('card'),
                    'CACTOOL_CARDCTL': self.cardctl_exe})
        return env

    def teardown(self):
        self.control.close()
        self.procs.stop_all()

    def on_signal(self, signum, frame):
        self.signalled = self.signalled or signum


def inner_main(args):
    """The inner part's entry: tells the outer part it got this far, then runs the bed."""
    inner = json.loads(args.inner)
    os.write(inner['ready_fd'], b'1')
    os.close(inner['ready_fd'])
    bed = Bed(args, inner)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, bed.on_signal)
    try:
        bed.start()
        status = run_command(bed)
    except BedError as error:
        say(str(error))
        status = EXIT_BED
    except Interrupted as interrupted:
        status = 128 + interrupted.signum
    finally:
        bed.teardown()
        if not args.keep:
            remove_state(inner['state'])
    return status
