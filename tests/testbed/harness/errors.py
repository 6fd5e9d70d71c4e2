"""How the harness fails and how it says so."""

import signal
import sys

# run's exit status when the bed could not start or broke while COMMAND ran.
EXIT_BED = 125


class BedError(Exception):
    """The bed could not start or broke: the message says why; run exits 125."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while the bed was starting."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(message):
    # stderr may be a pipe whose reader has gone (run killed together with its caller);
    # the teardown that follows must still happen.
    try:
        print(f'run: {message}', file=sys.stderr, flush=True)
    except OSError:
        pass
