"""The controlling terminal: the inner part hands it to COMMAND's process group, so
COMMAND can prompt (for a PIN, say) and Ctrl-C reaches it alone; the outer part takes it
back for run's own group at the end (only the outer part can name that group, which the
PID namespace hides)."""

import contextlib
import os
import signal


def open_tty():
    return os.open('/dev/tty', os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)


@contextlib.contextmanager
def sigttou_blocked():
    # A background group that changes the foreground gets SIGTTOU, which would stop it.
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def foreground_terminal():
    """The controlling terminal, open, if run is in its foreground process group."""
    try:
        fd = open_tty()
    except OSError:
        return None
    try:
        if os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def take_back_terminal(fd):
    """Make run's process group the foreground of terminal fd again, and close fd."""
    if fd is None:
        return
    try:
        with sigttou_blocked():
            os.tcsetpgrp(fd, os.getpgrp())
    except OSError:
        pass
    finally:
        os.close(fd)


def hand_terminal(pgid):
    """Make process group pgid the terminal's foreground. COMMAND may already have
    touched the terminal and been stopped for it (SIGTTIN) before this, hence the
    SIGCONT."""
    with sigttou_blocked():
        try:
            fd = open_tty()
            try:
                os.tcsetpgrp(fd, pgid)
            finally:
                os.close(fd)
            os.killpg(pgid, signal.SIGCONT)
        except OSError:
            pass
