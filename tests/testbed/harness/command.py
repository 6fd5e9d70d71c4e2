"""COMMAND: run in its own process group with the bed's environment, and watched until
it ends. A signal run receives goes on to COMMAND's group; pcscd or cardsim ending
without a harness.sock command is a broken bed, which stops COMMAND."""

import os
import signal
import subprocess
import time

from .errors import EXIT_BED, say
from .processes import KILL_GRACE, Proc, describe_status, shell_status
from .terminal import hand_terminal


def run_command(bed):
    """Run COMMAND; its status as a shell reports it, or run's exit status."""
    try:
        popen = subprocess.Popen(bed.args.command, env=bed.command_env(), process_group=0)
    except OSError as error:
        say(f'cannot run {bed.args.command[0]}: {error.strerror}')
        # 127 for a command that is not there, 126 for one that is but that execve
        # refuses (no permission, not a program, a script without #!: a shell would run
        # that one itself, run does not).
        return 127 if isinstance(error, FileNotFoundError) else 126
    command = bed.procs.add(Proc('COMMAND', popen))
    if bed.terminal:
        hand_terminal(popen.pid)
    return watch(bed, command)


def watch(bed, command):
    """Until COMMAND ends: forward signals to its group, and stop it if pcscd or
    cardsim dies without having been asked to."""
    forwarder = SignalForwarder(command)
    while True:
        status = bed.procs.wait(command, 0.1)
        if status is not None:
            return 128 + bed.signalled if bed.signalled else shell_status(status)
        if forwarder.grace_over(bed.signalled):
            # The group has had its grace: killed now, not given another at teardown.
            bed.procs.kill_group(command)
            return 128 + bed.signalled
        broken = broken_process(bed)
        if broken:
            say(broken)
            bed.procs.stop(command, group=True)
            return EXIT_BED


class SignalForwarder:
    """Sends each new signal run receives to COMMAND's group, which then has KILL_GRACE
    seconds to end."""

    def __init__(self, command):
        self.command = command
        self.forwarded = None
        self.deadline = None

    def grace_over(self, signalled):
        """Forward signalled if it is new; whether the group's time is up."""
        if signalled and self.forwarded != signalled:
            self.forwarded = signalled
            self.deadline = time.monotonic() + KILL_GRACE
            try:
                os.killpg(self.command.pid, signalled)
                # A stopped process acts on the signal only once it runs again.
                os.killpg(self.command.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return self.deadline is not None and time.monotonic() > self.deadline


def broken_process(bed):
    """A message if pcscd or cardsim ended without being asked to, else None."""
    for name in ('pcscd', 'cardsim'):
        proc = bed.procs.get(name)
        if proc is None or proc.expected:
            continue
        status = bed.procs.wait(proc, 0)
        # Checked again: harness.sock may have stopped it on purpose meanwhile.
        if status is not None and not proc.expected:
            return (f'{proc.name} (pid {proc.pid}) {describe_status(status)} while '
                    f'COMMAND ran; ' + bed.procs.see_log(f'{proc.name}.log'))
    return None
