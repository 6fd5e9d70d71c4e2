"""harness.sock: one command a line, one JSON answer a line, for what cardsim cannot do
itself (stop and start pcscd, add and remove reader entries). Commands are served one
at a time, whichever client sends them."""

import json
import socket
import threading

from .errors import BedError, Interrupted
from .pcscd import MAX_ENTRIES


class ControlServer:
    def __init__(self, bed):
        self.bed = bed
        self.server = None
        self.one_at_a_time = threading.Lock()
        self.commands = {'status': self.status,
                         'pcscd stop': self.pcscd_stop,
                         'pcscd start': self.pcscd_start,
                         'pcscd restart': self.pcscd_restart,
                         'reader add': self.reader_add,
                         'reader remove': self.reader_remove}

    def start(self):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.bed.path('harness.sock'))
        self.server.listen(8)
        threading.Thread(target=self.accept_loop, daemon=True, name='harness').start()

    def close(self):
        if self.server:
            self.server.close()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed at teardown
            threading.Thread(target=self.serve_client, args=(client,), daemon=True).start()

    def serve_client(self, client):
        try:
            with client, client.makefile('rwb') as stream:
                for line in stream:
                    answer = self.answer(line.decode(errors='replace').strip())
                    stream.write(json.dumps(answer).encode() + b'\n')
                    stream.flush()
        except OSError:
            pass  # the client hung up before its answer (killed, or gave up): no one to tell

    def answer(self, line):
        if line not in self.commands:
            return {'ok': False, 'error': f'unknown command: {line!r} (known: '
                    + ', '.join(self.commands) + ')'}
        with self.one_at_a_time:
            try:
                return {'ok': True, **(self.commands[line]() or {})}
            except (BedError, Interrupted, OSError) as error:
                return {'ok': False, 'error': str(error)}
            except Exception as error:  # a client always gets an answer, never silence
                return {'ok': False, 'error': f'{type(error).__name__}: {error}'}

    def status(self):
        def describe(name):
            proc = self.bed.procs.running(name)
            return {'running': True, 'pid': proc.pid} if proc else {'running': False}
        return {'pcscd': describe('pcscd'), 'cardsim': describe('cardsim'),
                'readers': self.bed.pcscd.reader_names(), 'port': self.bed.pcscd.port}

    def pcscd_stop(self):
        proc = self.bed.procs.running('pcscd')
        if proc is None:
            raise BedError('pcscd is not running')
        self.bed.procs.stop(proc)
        self.bed.procs.write_pids()

    def pcscd_start(self):
        if self.bed.procs.running('pcscd'):
            raise BedError('pcscd is already running')
        cardsim = self.bed.procs.running('cardsim')
        card = cardsim is not None and self.bed.card.inserted()
        self.bed.pcscd.start()
        self.bed.procs.write_pids()
        if card:
            # cardsim reconnects to the new vpcd on its own; wait until pcscd sees it,
            # so a client that asked for the restart finds the bed as it was.
            self.bed.card.wait_ready(cardsim, connected=True, what='after the pcscd start')
            self.bed.card.wait_present()

    def pcscd_restart(self):
        if self.bed.procs.running('pcscd'):
            self.pcscd_stop()
        self.pcscd_start()

    def reader_add(self):
        if self.bed.pcscd.readers >= MAX_ENTRIES:
            raise BedError(f'the bed has {MAX_ENTRIES} reader entries, the most pcscd can '
                           f'serve (16 readers, two an entry)')
        return self.change_readers(+1)

    def reader_remove(self):
        if self.bed.pcscd.readers == 1:
            raise BedError("the first reader entry holds the card and stays")
        return self.change_readers(-1)

    def change_readers(self, change):
        """pcscd reads reader.conf.d only as it starts, hence the restart. If pcscd does
        not come up with the new entries, the old ones come back, so the bed stays usable."""
        before = self.bed.pcscd.readers
        self.bed.pcscd.set_readers(before + change)
        try:
            self.pcscd_restart()
        except (BedError, Interrupted, OSError) as error:
            raise BedError(f'{error}; {self.roll_back(before)}') from error
        return {'readers': self.bed.pcscd.reader_names()}

    def roll_back(self, count):
        """reader.conf.d back to count entries and pcscd restarted; what came of it."""
        try:
            self.bed.pcscd.set_readers(count)
            self.pcscd_restart()
        except (BedError, Interrupted, OSError) as error:
            return f'rolled back to {count} reader entries, but pcscd did not restart: {error}'
        return f'rolled back to {count} reader entries, pcscd restarted'
