"""The bed's pcscd and its vpcd reader entries.

Entry i of reader.conf.d is vpcd on ports P+2i and P+2i+1 (the driver's two slots). Each
entry loads its own copy of the driver, because the driver keeps its connections in
static storage indexed by slot: two entries sharing one loaded library would share (and
fight over) slot 0."""

import os
import shutil
import socket

from .errors import BedError
from .namespace import PCSCD_DIR

VPCD_DRIVER_DIRS = ['/usr/lib/pcsc/drivers/serial', '/usr/lib64/pcsc/drivers/serial',
                    '/usr/local/lib/pcsc/drivers/serial']
PCSCD_SOCKET = PCSCD_DIR + '/pcscd.comm'

# pcscd serves at most 16 readers (PCSCLITE_MAX_READERS_CONTEXTS) and every entry is two
# (the driver's two slots): a ninth entry's readers would not fit, and pcscd would not
# come up with all of them.
MAX_ENTRIES = 8


def find_vpcd_driver():
    for folder in VPCD_DRIVER_DIRS:
        path = os.path.join(folder, 'libifdvpcd.so')
        if os.path.exists(path):
            return path
    raise BedError('cannot find libifdvpcd.so: install vsmartcard-vpcd')


def port_free(port):
    # vpcd listens on every address, so the check binds the wildcard address. Without
    # SO_REUSEADDR, as vpcd binds: a port vpcd could not take counts as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(('', port))
            return True
        except OSError:
            return False


def require_free(ports):
    for port in ports:
        if port > 65535 or not port_free(port):
            raise BedError(f'port {port} is already in use')


def free_port_range(count):
    """A port P with P .. P+count-1 all free: the system's pick for P, checked upward."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        if port + count <= 65536 and all(port_free(p) for p in range(port, port + count)):
            return port
    raise BedError(f'found no {count} free consecutive ports')


def listening_ports():
    ports = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    if fields[3] == '0A':
                        ports.add(int(fields[1].rsplit(':', 1)[1], 16))
        except OSError:
            pass
    return ports


class Pcscd:
    """reader.conf.d, the driver copies and the pcscd process of one bed."""

    def __init__(self, bed):
        self.bed = bed
        self.readers = bed.args.readers
        self.port = None

    def copy_drivers(self):
        """One copy of the vpcd driver per reader entry, made from drivers/libifdvpcd.so,
        which stays for the entries that reader add makes later. Called before
        hide_usb_drivers() hides the machine's copy."""
        folder = self.bed.path('drivers')
        os.mkdir(folder)
        shutil.copy(find_vpcd_driver(), os.path.join(folder, 'libifdvpcd.so'))
        for entry in range(self.readers):
            self.driver_path(entry)

    def driver_path(self, entry):
        folder = self.bed.path('drivers')
        path = os.path.join(folder, f'libifdvpcd-{entry}.so')
        if not os.path.exists(path):
            shutil.copy(os.path.join(folder, 'libifdvpcd.so'), path)
        return path

    def pick_port(self):
        """P: --port if its ports are free, else the system's pick."""
        count = 2 * self.readers
        if self.bed.args.port is None:
            self.port = free_port_range(count)
        else:
            require_free(range(self.bed.args.port, self.bed.args.port + count))
            self.port = self.bed.args.port

    def entry_port(self, entry):
        return self.port + 2 * entry

    def entry_name(self, entry):
        # pcscd numbers readers of one name (the "00" in "NAME 00 00") only among those
        # loaded from the same library file; with one copy per entry every entry would be
        # "NAME 00", so entries after the first carry their number in the name.
        name = self.bed.args.reader_name
        return name if entry == 0 else f'{name} {entry + 1}'

    def reader_names(self):
        return [f'{self.entry_name(entry)} 00 {slot:02d}' for entry in range(self.readers)
                for slot in (0, 1)]

    def set_readers(self, count):
        """Rewrite reader.conf.d for count entries (pcscd reads it only as it starts)."""
        if count > self.readers:
            first = self.entry_port(self.readers)
            require_free(range(first, self.entry_port(count)))
        self.readers = count
        self.write_reader_conf()

    def write_reader_conf(self):
        folder = self.bed.path('reader.conf.d')
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            os.unlink(os.path.join(folder, old))
        for entry in range(self.readers):
            with open(os.path.join(folder, f'vpcd-{entry}'), 'w') as conf:
                conf.write(f'FRIENDLYNAME "{self.entry_name(entry)}"\n'
                           f'DEVICENAME /dev/null:{self.entry_port(entry)}\n'
                           f'LIBPATH {self.driver_path(entry)}\n')

    def start(self):
        """Start pcscd; return once its socket exists and vpcd listens on every entry."""
        for stale in ('pcscd.comm', 'pcscd.pid'):
            if os.path.lexists(os.path.join(PCSCD_DIR, stale)):
                os.unlink(os.path.join(PCSCD_DIR, stale))
        # No LISTEN_* variables: pcscd must not take a socket-activation socket meant
        # for someone else.
        env = {k: v for k, v in os.environ.items() if not k.startswith('LISTEN_')}
        pcscd = os.environ.get('CACTOOL_TESTBED_PCSCD', 'pcscd')
        argv = [pcscd, '--foreground', '--config', self.bed.path('reader.conf.d')]
        # Until it is ready, an end of this pcscd is a failed start, reported here (to
        # harness.sock's client, after a start there), not a bed broken while COMMAND runs.
        proc = self.bed.procs.spawn('pcscd', argv, 'pcscd.log', env, expected=True)
        try:
            self.wait_started(proc, lambda: os.path.exists(PCSCD_SOCKET),
                              f'pcscd did not create {PCSCD_SOCKET} within '
                              f'{self.bed.timeout:g} s')
            ports = [self.entry_port(entry) for entry in range(self.readers)]
            self.wait_started(proc, lambda: set(ports) <= listening_ports(),
                              f'vpcd is not listening on port(s) {ports} after '
                              f'{self.bed.timeout:g} s')
        except BaseException:
            self.bed.procs.stop(proc)  # no half-started pcscd left behind
            raise
        proc.expected = False

    def wait_started(self, proc, ready, failure):
        def alive_and_ready():
            self.bed.procs.check_alive(proc, 'at start')
            return ready()
        self.bed.wait_until(alive_and_ready, lambda: (
            f'{failure}; ' + self.bed.procs.see_log('pcscd.log')))
