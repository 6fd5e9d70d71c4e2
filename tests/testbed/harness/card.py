"""The virtual card: cardsim connected to the bed's vpcd, and the waits until it is
ready and until pcscd reports it present."""

import json
import math
import os
import socket
import time

from .errors import BedError, Interrupted
from .processes import KILL_GRACE, describe_status, shell_status


def control_request(path, command, timeout):
    """One command on a line-protocol control socket; the JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(command.encode() + b'\n')
        answer = b''
        while not answer.endswith(b'\n'):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer)


def is_ready(answer, connected):
    """Whether cardsim's status answer shows it up and, if connected, seen by pcscd
    (connected to vpcd and asked for its ATR)."""
    if not answer:
        return False
    return not connected or bool(answer.get('connected') and answer.get('atr_requested'))


class Card:
    def __init__(self, bed):
        self.bed = bed

    def socket_path(self):
        return self.bed.path('cardsim.sock')

    def start(self):
        args = self.bed.args
        argv = [self.bed.cardsim_exe,
                '--vpcd-port', str(self.bed.pcscd.port), '--vpcd-host', '127.0.0.1',
                '--export', self.bed.path('card'),
                '--control', self.socket_path(),
                '--apdu-log', self.bed.path('apdu.jsonl'),
                '--connect-timeout', str(max(1, math.ceil(self.bed.timeout)))]
        if args.profile:
            argv += ['--profile', os.path.abspath(args.profile)]
        if args.no_card:
            argv.append('--no-card')
        proc = self.bed.procs.spawn('cardsim', argv, 'cardsim.log')
        self.wait_ready(proc, connected=not args.no_card, what='at start')

    def status(self):
        """cardsim's answer to status, or None if it gives none."""
        try:
            return control_request(self.socket_path(), 'status', 1.0)
        except (OSError, ValueError):
            return None

    def inserted(self):
        answer = self.status() or {}
        for key in ('present', 'inserted'):
            if key in answer:
                return bool(answer[key])
        return not self.bed.args.no_card

    def wait_ready(self, proc, connected, what):
        """Until cardsim answers on its control socket and, if connected, pcscd has seen
        the card (see is_ready)."""
        last = {}

        def ready():
            self.bed.procs.check_alive(proc, what)
            last['answer'] = self.status()
            return is_ready(last['answer'], connected)
        self.bed.wait_until(ready, lambda: (
            f'cardsim was not ready {what} within {self.bed.timeout:g} s '
            f'(last status: {json.dumps(last.get("answer"))}); '
            + self.bed.procs.see_log('cardsim.log')))

    def wait_present(self):
        """Until pcscd reports the card present to a PC/SC client (cardctl wait)."""
        argv = [self.bed.cardctl_exe, 'wait', 'present', '--timeout', f'{self.bed.timeout:g}']
        proc = self.bed.procs.spawn('cardctl', argv, 'cardctl.log', self.bed.command_env())
        status = self.wait_cardctl(proc)
        self.bed.procs.forget('cardctl')
        if status is None or shell_status(status) != 0:
            how = 'hung' if status is None else describe_status(status)
            raise BedError(f'pcscd did not report the card present within '
                           f'{self.bed.timeout:g} s (cardctl wait present {how}); '
                           + self.bed.procs.see_log('cardctl.log'))

    def wait_cardctl(self, proc):
        """cardctl's wait status; None if it outlived its own timeout and was stopped."""
        procs = self.bed.procs
        deadline = time.monotonic() + self.bed.timeout + KILL_GRACE
        status = None
        while status is None:
            if self.bed.signalled:
                procs.stop(proc)
                raise Interrupted(self.bed.signalled)
            if time.monotonic() > deadline:
                procs.stop(proc)
                return None
            status = procs.wait(proc, 0.1)
        return status
