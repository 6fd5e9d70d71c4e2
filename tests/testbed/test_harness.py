#!/usr/bin/python3
"""Tests of the test bed's harness, tests/testbed/run, run as a program.

What a bed shows is checked with tools that do not belong to the harness: opensc-tool
lists the readers pcscd offers and whether a card is in them, /proc shows which
processes and mounts remain. Every subprocess call has a timeout.

Needs root, or unprivileged user namespaces, plus pcscd, vsmartcard-vpcd and
opensc-tool; exits 77 (skipped) without them. cardsim and cardctl come from
CACTOOL_CARDSIM and CACTOOL_CARDCTL (meson sets them), else from the newest build.
"""

import errno
import fcntl
import json
import os
import pty
import random
import select
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.environ.get('CACTOOL_TESTBED_RUN') or os.path.join(HERE, 'run')
CALL_TIMEOUT = 90  # seconds; no call in these tests should come near it
BED_ERROR = 125

# A vpcd client in a few lines, as a COMMAND's helper: connects to PORT and answers as a
# card whose ATR is given, so a test can put a card into any reader entry.
VPCD_CARD = r'''
import socket, struct, sys
sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
atr = bytes.fromhex(sys.argv[2])
def read(n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data
while True:
    (length,) = struct.unpack('>H', read(2))
    message = read(length)
    if length == 1 and message[0] == 4:
        sock.sendall(struct.pack('>H', len(atr)) + atr)
    elif length > 1:
        sock.sendall(b'\x00\x02\x6d\x00')
'''

# Reads opensc-tool -l inside a bed and prints [[name, card present], ...] as JSON.
LIST_READERS = r'''
import json, re, subprocess
out = subprocess.run(['opensc-tool', '-l'], capture_output=True, text=True, timeout=30).stdout
rows = [re.match(r'^\d+\s+(Yes|No)\s+(.*?)\s*$', line) for line in out.splitlines()]
print(json.dumps([[row.group(2), row.group(1) == 'Yes'] for row in rows if row]))
'''

def write_script(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, 'w') as script:
        script.write(text)
    os.chmod(path, 0o755)
    return path


def processes_mentioning(text):
    """(pid, command line) of every process whose command line contains text."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as cmdline:
                line = cmdline.read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if text in line:
            found.append((int(entry), line))
    return found


def mount_table():
    with open('/proc/self/mountinfo') as table:
        return table.read()


def host_pcscd_snapshot():
    """What the machine's /run/pcscd is: None when absent, else inode and listing."""
    try:
        info = os.stat('/run/pcscd')
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino, sorted(os.listdir('/run/pcscd')))


def python_command(code, *args):
    return ['/usr/bin/python3', '-c', code, *args]


class HarnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tools = tempfile.mkdtemp(prefix='harness-test-')
        cls.env = dict(os.environ)
        cls.env.pop('CACTOOL_TESTBED_PCSCD', None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tools, ignore_errors=True)

    def run_bed(self, command, *options, env=None, timeout=CALL_TIMEOUT):
        return subprocess.run([RUN, *options, '--', *command], env=env or self.env,
                              capture_output=True, text=True, timeout=timeout)

    def start_bed(self, command, *options, env=None, **popen_options):
        return subprocess.Popen([RUN, *options, '--', *command], env=env or self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                **popen_options)

    def wait_for_file(self, path, bed, timeout=CALL_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if bed.poll() is not None:
                self.fail(f'the bed ended early ({bed.returncode}): {bed.stderr.read()}')
            self.assertLess(time.monotonic(), deadline, f'{path} never appeared')
            time.sleep(0.05)
        with open(path) as written:
            return written.read().strip()

    def assert_nothing_left(self, *texts):
        # The PID namespace dies with the harness, so this should hold at once; a
        # short bounded grace covers the kernel still reaping.
        deadline = time.monotonic() + 3
        for text in texts:
            while processes_mentioning(text) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(processes_mentioning(text), [], f'left running: {text}')

    # -- a healthy bed --------------------------------------------------------------

    def test_command_status_passes_through(self):
        started = time.monotonic()
        self.assertEqual(self.run_bed(['true']).returncode, 0)
        print(f'\nbed start, run true, teardown: {time.monotonic() - started:.2f} s',
              file=sys.stderr)
        result = self.run_bed(['sh', '-c', 'echo out; echo err >&2; exit 7'])
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertEqual(result.stdout, 'out\n')
        self.assertIn('err\n', result.stderr)
        result = self.run_bed(['sh', '-c', 'kill -USR1 $$'])
        self.assertEqual(result.returncode, 128 + signal.SIGUSR1, result.stderr)

    def test_environment_and_private_pcscd(self):
        host_before = host_pcscd_snapshot()
        run_before = sorted(os.listdir('/run'))
        report = r'''
import json, os, subprocess, sys
env = {k: v for k, v in os.environ.items() if k.startswith('CACTOOL_')}
state = env['CACTOOL_TESTBED_DIR']
info = os.stat('/run/pcscd')
mounts = [line.split() for line in open('/proc/self/mountinfo')]
print(json.dumps({
    'env': env, 'state': sorted(os.listdir(state)),
    'card': sorted(os.listdir(env['CACTOOL_TESTBED_CARD'])),
    'run_pcscd': sorted(os.listdir('/run/pcscd')), 'inode': [info.st_dev, info.st_ino],
    'pcscd_fs': [m[m.index('-') + 1] for m in mounts if m[4] == '/run/pcscd'],
    'readers': json.loads(subprocess.run([sys.executable, '-c', sys.argv[1]],
        capture_output=True, text=True, timeout=60).stdout)}))
'''
        result = self.run_bed(python_command(report, LIST_READERS))
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        env = seen['env']
        self.assertTrue(env['CACTOOL_TESTBED_DIR'].startswith(tempfile.gettempdir()))
        for name in ('reader.conf.d', 'pids', 'pcscd.log', 'cardsim.log', 'cardsim.sock',
                     'harness.sock', 'card'):
            self.assertIn(name, seen['state'])
        self.assertEqual(env['CACTOOL_TESTBED_READER'], 'Virtual PCD 00 00')
        self.assertEqual(env['CACTOOL_TESTBED_CARD'],
                         os.path.join(env['CACTOOL_TESTBED_DIR'], 'card'))
        self.assertIn('card.json', seen['card'])
        if self.env.get('CACTOOL_CARDCTL'):
            self.assertEqual(env['CACTOOL_CARDCTL'], self.env['CACTOOL_CARDCTL'])
        self.assertTrue(os.access(env['CACTOOL_CARDCTL'], os.X_OK))
        self.assertEqual(seen['readers'], [['Virtual PCD 00 00', True],
                                           ['Virtual PCD 00 01', False]])
        # The bed's /run/pcscd is a tmpfs of its own, holding its pcscd's socket...
        self.assertIn('pcscd.comm', seen['run_pcscd'])
        self.assertEqual(seen['pcscd_fs'][-1:], ['tmpfs'])
        # ...and the machine's /run (and /run/pcscd, if any) is as it was.
        self.assertEqual(host_pcscd_snapshot(), host_before)
        if host_before:
            self.assertNotEqual(seen['inode'], list(host_before[:2]))
        self.assertEqual(sorted(os.listdir('/run')), run_before)
        self.assertFalse(os.path.exists(env['CACTOOL_TESTBED_DIR']))

    def test_no_card_and_reader_name(self):
        result = self.run_bed(python_command(LIST_READERS), '--no-card',
                              '--reader-name', 'Yubico Virtual PCD')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), [['Yubico Virtual PCD 00 00', False],
                                                     ['Yubico Virtual PCD 00 01', False]])

    def test_profile_reaches_the_card(self):
        # A relative path: run must resolve it against the caller's folder, since
        # cardsim starts elsewhere. The card's ATR comes from the profile.
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, 'card.json'), 'w') as profile:
                json.dump({'atr': '3B 88 80 01 00 00 00 00 00 00 00 00 09'}, profile)
            result = subprocess.run([RUN, '--profile', 'card.json', '--', 'opensc-tool', '-a'],
                                    env=self.env, cwd=folder, capture_output=True, text=True,
                                    timeout=CALL_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('3b:88:80:01:00:00:00:00:00:00:00:00:09', result.stdout)

    def test_two_beds_at_once(self):
        with tempfile.TemporaryDirectory() as folder:
            both = r'''
import json, os, subprocess, sys, time
mine, other = sys.argv[2], sys.argv[3]
with open(mine + '.new', 'w') as f:
    f.write(os.environ['CACTOOL_TESTBED_DIR'])
os.rename(mine + '.new', mine)
deadline = time.monotonic() + 60
while not os.path.exists(other) and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({'overlap': os.path.exists(other), 'readers': json.loads(
    subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, text=True,
                   timeout=60).stdout)}))
'''
            one, two = os.path.join(folder, 'one'), os.path.join(folder, 'two')
            beds = [self.start_bed(python_command(both, LIST_READERS, one, two)),
                    self.start_bed(python_command(both, LIST_READERS, two, one),
                                   '--readers', '2', '--reader-name', 'Other PCD')]
            for bed in beds:
                self.addCleanup(self.end_bed, bed)
            outputs = [bed.communicate(timeout=CALL_TIMEOUT) for bed in beds]
            for bed, (out, err) in zip(beds, outputs):
                self.assertEqual(bed.returncode, 0, err)
            first, second = (json.loads(out) for out, _ in outputs)
            self.assertTrue(first['overlap'] and second['overlap'])
            self.assertEqual(first['readers'], [['Virtual PCD 00 00', True],
                                                ['Virtual PCD 00 01', False]])
            self.assertEqual(second['readers'], [
                ['Other PCD 00 00', True], ['Other PCD 00 01', False],
                ['Other PCD 2 00 00', False], ['Other PCD 2 00 01', False]])
            with open(one) as a, open(two) as b:
                self.assertNotEqual(a.read(), b.read())

    def test_pcscd_restart_and_reader_add(self):
        steps = r'''
import json, os, subprocess, sys
cardctl = os.environ['CACTOOL_CARDCTL']
def readers():
    return json.loads(subprocess.run([sys.executable, '-c', sys.argv[1]],
        capture_output=True, text=True, timeout=60).stdout)
def pcscd_pid():
    pids = open(os.path.join(os.environ['CACTOOL_TESTBED_DIR'], 'pids')).read()
    return [l for l in pids.splitlines() if l.startswith('pcscd=')]
def cardctl_run(*args):
    return subprocess.run([cardctl, *args], capture_output=True, text=True,
                          timeout=60).returncode
seen = {'start': readers(), 'pid': pcscd_pid()}
seen['restart'] = cardctl_run('pcscd', 'restart')
seen['after_restart'] = readers()
seen['pid_after'] = pcscd_pid()
seen['add'] = cardctl_run('reader', 'add')
seen['after_add'] = readers()
conf = os.path.join(os.environ['CACTOOL_TESTBED_DIR'], 'reader.conf.d', 'vpcd-1')
port = [l.split(':')[1] for l in open(conf) if l.startswith('DEVICENAME')][0]
card = subprocess.Popen([sys.executable, '-c', sys.argv[2], port, '3B00'])
import time
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    seen['second_card'] = readers()
    if seen['second_card'][2][1]:
        break
    time.sleep(0.1)
card.kill()
seen['remove'] = cardctl_run('reader', 'remove')
seen['after_remove'] = readers()
seen['remove_last'] = cardctl_run('reader', 'remove')
print(json.dumps(seen))
'''
        result = self.run_bed(python_command(steps, LIST_READERS, VPCD_CARD))
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        one_entry = [['Virtual PCD 00 00', True], ['Virtual PCD 00 01', False]]
        self.assertEqual(seen['start'], one_entry)
        self.assertEqual(seen['restart'], 0)
        self.assertEqual(seen['after_restart'], one_entry)
        self.assertNotEqual(seen['pid'], seen['pid_after'])
        self.assertEqual(seen['add'], 0)
        self.assertEqual(seen['after_add'], one_entry + [['Virtual PCD 2 00 00', False],
                                                         ['Virtual PCD 2 00 01', False]])
        # A card on the second entry's port shows in that entry's reader only: the entry
        # has a driver of its own.
        self.assertEqual(seen['second_card'], one_entry + [['Virtual PCD 2 00 00', True],
                                                           ['Virtual PCD 2 00 01', False]])
        self.assertEqual(seen['remove'], 0)
        self.assertEqual(seen['after_remove'], one_entry)
        self.assertEqual(seen['remove_last'], 1)

    def test_harness_client_that_hangs_up_before_its_answer(self):
        # The command is still carried out; run says nothing about the lost answer.
        steps = r'''
import os, socket, subprocess
state = os.environ['CACTOOL_TESTBED_DIR']
with socket.socket(socket.AF_UNIX) as sock:
    sock.connect(os.path.join(state, 'harness.sock'))
    sock.sendall(b'pcscd restart\n')
# Served after the first one: by then that answer has been written, or failed to be.
subprocess.run([os.environ['CACTOOL_CARDCTL'], 'pcscd', 'restart'], check=True, timeout=60)
'''
        result = self.run_bed(python_command(steps))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertNotIn('Error', result.stderr)

    def test_reader_add_past_what_pcscd_serves(self):
        # pcscd serves 16 readers, so 8 entries of two: a ninth is refused at once and
        # the bed carries on as it was.
        steps = r'''
import json, os, subprocess, sys, time
cardctl = os.environ['CACTOOL_CARDCTL']
conf = os.path.join(os.environ['CACTOOL_TESTBED_DIR'], 'reader.conf.d')
def cardctl_run(*args):
    started = time.monotonic()
    result = subprocess.run([cardctl, *args], capture_output=True, text=True, timeout=60)
    return [result.returncode, result.stderr, time.monotonic() - started]
seen = {'add': cardctl_run('reader', 'add'), 'entries': len(os.listdir(conf))}
# README: reader add and remove start a stopped pcscd.
seen['stop'] = cardctl_run('pcscd', 'stop')
seen['remove'] = cardctl_run('reader', 'remove')
seen['add_again'] = cardctl_run('reader', 'add')
seen['wait'] = cardctl_run('wait', 'present', '--timeout', '10')
print(json.dumps(seen))
'''
        result = self.run_bed(python_command(steps), '--readers', '8')
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        status, message, seconds = seen['add']
        self.assertEqual(status, 1)
        self.assertIn('16 readers', message)
        self.assertLess(seconds, 2)
        self.assertEqual(seen['entries'], 8)
        for step in ('stop', 'remove', 'add_again', 'wait'):
            self.assertEqual(seen[step][0], 0, (step, seen[step]))

    def test_reader_add_rolls_back_when_pcscd_does_not_restart(self):
        # A pcscd that refuses to start with more than one reader entry: reader add must
        # fail and leave the bed with its one entry and a running pcscd.
        pcscd = shutil.which('pcscd', path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')
        env = dict(self.env)
        env['CACTOOL_TESTBED_PCSCD'] = write_script(
            self.tools, 'one-entry-pcscd',
            '#!/bin/sh\n# $3 is the folder given with --config\n'
            '[ "$(ls "$3" | wc -l)" -gt 1 ] && { echo "too many entries" >&2; exit 1; }\n'
            f'exec {pcscd} "$@"\n')
        steps = r'''
import json, os, subprocess, sys
cardctl = os.environ['CACTOOL_CARDCTL']
conf = os.path.join(os.environ['CACTOOL_TESTBED_DIR'], 'reader.conf.d')
add = subprocess.run([cardctl, 'reader', 'add'], capture_output=True, text=True, timeout=60)
wait = subprocess.run([cardctl, 'wait', 'present', '--timeout', '10'], capture_output=True,
                      timeout=60)
readers = json.loads(subprocess.run([sys.executable, '-c', sys.argv[1]],
    capture_output=True, text=True, timeout=60).stdout)
print(json.dumps({'add': [add.returncode, add.stderr], 'entries': sorted(os.listdir(conf)),
                  'wait': wait.returncode, 'readers': readers}))
'''
        result = self.run_bed(python_command(steps, LIST_READERS), '--timeout', '5', env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        self.assertEqual(seen['add'][0], 1)
        self.assertIn('rolled back to 1 reader entries, pcscd restarted', seen['add'][1])
        self.assertEqual(seen['entries'], ['vpcd-0'])
        self.assertEqual(seen['wait'], 0)
        self.assertEqual(seen['readers'], [['Virtual PCD 00 00', True],
                                           ['Virtual PCD 00 01', False]])

    # -- a bed that breaks or cannot start ----------------------------------------

    def test_crashed_card_simulator(self):
        marker = f'{3600 + random.randrange(1000)}.{random.randrange(10**6):06d}'
        crash = 'kill -KILL $(sed -n "s/^cardsim=//p" "$CACTOOL_TESTBED_DIR/pids"); sleep "$0"'
        started = time.monotonic()
        result = self.run_bed(['sh', '-c', crash, marker])
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        self.assertRegex(result.stderr, r'cardsim \(pid \d+\) was killed by signal SIGKILL')
        self.assertLess(time.monotonic() - started, 30)
        self.assert_nothing_left(marker)

    def test_pcscd_that_fails_to_start(self):
        env = dict(self.env)
        env['CACTOOL_TESTBED_PCSCD'] = write_script(
            self.tools, 'failing-pcscd', '#!/bin/sh\necho "no readers for you" >&2\nexit 1\n')
        marker = os.path.join(self.tools, 'command-ran')
        started = time.monotonic()
        result = self.run_bed(['touch', marker], '--timeout', '5', env=env)
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        # Without --keep the log is gone by now: the message must not send anyone to it.
        self.assertIn('pcscd exited with status 1 at start; the state folder is removed '
                      'at exit (run --keep keeps it); pcscd.log ends:', result.stderr)
        self.assertNotIn('see pcscd.log', result.stderr)
        self.assertIn('no readers for you', result.stderr)
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(os.path.exists(marker))
        # With --keep the log stays, and the message points there.
        result = self.run_bed(['true'], '--keep', '--timeout', '5', env=env)
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        kept = re.search(r'state folder: (\S+)', result.stderr).group(1)
        self.addCleanup(shutil.rmtree, kept, True)
        self.assertIn('at start; see pcscd.log', result.stderr)
        with open(os.path.join(kept, 'pcscd.log')) as log:
            self.assertIn('no readers for you', log.read())

    def test_pcscd_that_never_gets_ready(self):
        marker = f'{3600 + random.randrange(1000)}.{random.randrange(10**6):06d}'
        env = dict(self.env)
        env['CACTOOL_TESTBED_PCSCD'] = write_script(
            self.tools, 'silent-pcscd', f'#!/bin/sh\nexec sleep {marker}\n')
        started = time.monotonic()
        result = self.run_bed(['true'], '--timeout', '1', env=env)
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        self.assertIn('pcscd did not create /run/pcscd/pcscd.comm within 1 s', result.stderr)
        self.assertLess(time.monotonic() - started, 10)
        self.assert_nothing_left(marker)

    def test_port_already_in_use(self):
        with socket.socket() as listener:
            listener.bind(('127.0.0.1', 0))
            listener.listen()
            port = listener.getsockname()[1]
            result = self.run_bed(['true'], '--share-net', '--port', str(port))
            self.assertEqual(result.returncode, BED_ERROR, result.stderr)
            self.assertIn(f'port {port} is already in use', result.stderr)
            # The driver's second slot takes P+1: that one must be free as well.
            result = self.run_bed(['true'], '--share-net', '--port', str(port - 1))
            self.assertEqual(result.returncode, BED_ERROR, result.stderr)
            self.assertIn(f'port {port} is already in use', result.stderr)

    def test_usage_errors(self):
        for options in ([], ['--readers', '0'], ['--readers', '9'], ['--timeout', '0'],
                        ['--timeout', 'inf'], ['--timeout', 'nan'], ['--timeout', '3601'],
                        ['--bogus']):
            result = subprocess.run([RUN, *options, '--', 'true'] if options else [RUN],
                                    env=self.env, capture_output=True, text=True,
                                    timeout=CALL_TIMEOUT)
            self.assertEqual(result.returncode, 2, (options, result.stderr))
            self.assertNotIn('Traceback', result.stderr)

    def test_command_that_cannot_run(self):
        # README: 127 when COMMAND does not exist, 126 when execve refuses it (no
        # permission; a script without #!, which a shell would run itself but execve
        # cannot start).
        no_shebang = write_script(self.tools, 'no-shebang', 'exit 0\n')
        not_executable = os.path.join(self.tools, 'not-executable')
        with open(not_executable, 'w') as script:
            script.write('#!/bin/sh\nexit 0\n')
        for command, error, status in ((no_shebang, errno.ENOEXEC, 126),
                                       (not_executable, errno.EACCES, 126),
                                       (os.path.join(self.tools, 'missing'), errno.ENOENT, 127)):
            with self.assertRaises(OSError) as refused:  # the case is what it claims to be
                subprocess.run([command], timeout=CALL_TIMEOUT)
            self.assertEqual(refused.exception.errno, error)
            result = self.run_bed([command])
            self.assertEqual(result.returncode, status, (command, result.stderr))

    def test_bed_inside_a_bed(self):
        env = dict(self.env)
        env['CACTOOL_TESTBED_DIR'] = self.tools
        result = self.run_bed(['true'], env=env)
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        self.assertIn('already inside a test bed', result.stderr)

    def test_namespaces_refused(self):
        env = dict(self.env)
        fake = write_script(os.path.join(self.tools), 'unshare',
                            '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted"'
                            ' >&2\nexit 1\n')
        env['PATH'] = os.path.dirname(fake) + os.pathsep + env.get('PATH', '')
        result = self.run_bed(['true'], env=env)
        self.assertEqual(result.returncode, BED_ERROR, result.stderr)
        self.assertIn('could not enter new mount, network and PID namespaces', result.stderr)

    def test_command_can_prompt_on_the_terminal(self):
        # On a terminal, COMMAND must be able to read it (a PIN prompt): a process group
        # other than the terminal's foreground one would be stopped by SIGTTIN instead.
        master, slave = pty.openpty()

        def own_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        bed = subprocess.Popen([RUN, '--', 'sh', '-c', 'read line; echo "got $line"'],
                               env=self.env, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True, preexec_fn=own_terminal)
        os.close(slave)
        try:
            os.write(master, b'hello\n')
            seen = b''
            deadline = time.monotonic() + 30
            while b'got hello' not in seen and time.monotonic() < deadline:
                if select.select([master], [], [], 0.2)[0]:
                    try:
                        seen += os.read(master, 1024)
                    except OSError:
                        break
            self.assertIn(b'got hello', seen)
            self.assertEqual(bed.wait(timeout=CALL_TIMEOUT), 0)
        finally:
            bed.kill()
            bed.wait(timeout=CALL_TIMEOUT)
            os.close(master)

    # -- interrupts ----------------------------------------------------------------

    def start_sleeping_bed(self, folder, **popen_options):
        """A bed whose COMMAND sleeps and leaves a child that ignores SIGINT and SIGTERM
        (only a SIGKILL to the whole group ends it); returns the bed, its state folder
        and the marker in the sleeping processes' command lines."""
        marker = f'{3600 + random.randrange(1000)}.{random.randrange(10**6):06d}'
        ready = os.path.join(folder, 'ready')
        command = ['sh', '-c', '(trap "" INT TERM; sleep "$0") & '
                   f'echo "$CACTOOL_TESTBED_DIR" > {ready}.new; mv {ready}.new {ready}; '
                   'sleep "$0"', marker]
        bed = self.start_bed(command, **popen_options)
        self.addCleanup(self.end_bed, bed)
        state = self.wait_for_file(ready, bed)
        self.assertTrue(processes_mentioning(state))
        deadline = time.monotonic() + 10
        while len(self.sleeping(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the background sleep may start after the file is written
        self.assertEqual(len(self.sleeping(marker)), 2)
        return bed, state, marker

    @staticmethod
    def sleeping(marker):
        return [line for _, line in processes_mentioning(marker) if line.startswith('sleep ')]

    @staticmethod
    def end_bed(bed):
        # A failed test must not leave its bed running: SIGKILL to run tears it down.
        if bed.poll() is None:
            bed.kill()
        bed.wait(timeout=CALL_TIMEOUT)
        bed.stdout.close()
        bed.stderr.close()

    def interrupt(self, signum):
        mounts_before = mount_table()
        with tempfile.TemporaryDirectory() as folder:
            bed, state, marker = self.start_sleeping_bed(folder)
            started = time.monotonic()
            bed.send_signal(signum)
            bed.communicate(timeout=CALL_TIMEOUT)
        self.assertEqual(bed.returncode, 128 + signum)
        self.assertLess(time.monotonic() - started, 8)
        self.assert_nothing_left(state, marker)
        self.assertEqual(mount_table(), mounts_before)
        self.assertFalse(os.path.exists(state))

    def test_sigint_tears_down(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm_tears_down(self):
        self.interrupt(signal.SIGTERM)

    def seconds_to_end_after_sigterm(self, script):
        """run's exit status and how long it took to end after SIGTERM, with COMMAND
        sh -c 'SETUP; script' (SETUP tells the test COMMAND runs)."""
        with tempfile.TemporaryDirectory() as folder:
            ready = os.path.join(folder, 'ready')
            bed = self.start_bed(['sh', '-c', f'touch {ready}; {script}'])
            self.addCleanup(self.end_bed, bed)
            self.wait_for_file(ready, bed)
            time.sleep(0.5)  # past the script's first step
            started = time.monotonic()
            bed.send_signal(signal.SIGTERM)
            bed.communicate(timeout=CALL_TIMEOUT)
            return bed.returncode, time.monotonic() - started

    def test_command_that_ignores_sigterm_is_killed_after_the_grace(self):
        # README: the group gets 3 s after the signal, then SIGKILL (one grace, not a
        # second one at teardown). 5 s leaves room for a loaded machine.
        status, seconds = self.seconds_to_end_after_sigterm(
            'trap "" TERM; while :; do sleep 0.1; done')
        self.assertEqual(status, 128 + signal.SIGTERM)
        self.assertGreater(seconds, 2.5)
        self.assertLess(seconds, 5)

    def test_stopped_command_ends_on_sigterm(self):
        # A stopped COMMAND gets SIGCONT after the SIGTERM, so it ends at once.
        status, seconds = self.seconds_to_end_after_sigterm('kill -STOP $$')
        self.assertEqual(status, 128 + signal.SIGTERM)
        self.assertLess(seconds, 2)

    def sigkill_tears_down(self, kill):
        """kill(bed) sends SIGKILL, which run cannot catch; the bed must still go."""
        mounts_before = mount_table()
        with tempfile.TemporaryDirectory() as folder:
            bed, state, marker = self.start_sleeping_bed(folder, start_new_session=True)
            kill(bed)
            bed.communicate(timeout=CALL_TIMEOUT)
        deadline = time.monotonic() + 10
        while os.path.exists(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(state))
        self.assert_nothing_left(state, marker)
        self.assertEqual(mount_table(), mounts_before)

    def test_sigkill_to_run_still_tears_down(self):
        # unshare dies with run, and the bed's inner part gets SIGTERM and tears down as
        # usual.
        self.sigkill_tears_down(lambda bed: bed.kill())

    def test_sigkill_to_runs_whole_group_still_tears_down(self):
        # What timeout -k and a CI cancellation do: SIGKILL to every process of run's
        # group. The bed must not be in that group, or nothing would be left to remove
        # the state folder (with the card's PIN and keys).
        self.sigkill_tears_down(lambda bed: os.killpg(bed.pid, signal.SIGKILL))

    def test_sigterm_to_runs_whole_group_is_not_a_broken_bed(self):
        # timeout(1) signals its whole process group: pcscd must not get that signal and
        # be reported as having died while COMMAND ran.
        with tempfile.TemporaryDirectory() as folder:
            bed, state, marker = self.start_sleeping_bed(folder, start_new_session=True)
            os.killpg(bed.pid, signal.SIGTERM)
            _, err = bed.communicate(timeout=CALL_TIMEOUT)
        self.assertEqual(bed.returncode, 128 + signal.SIGTERM, err)
        self.assertNotIn('while COMMAND ran', err)
        self.assert_nothing_left(state, marker)
        self.assertFalse(os.path.exists(state))


def missing_requirement():
    for tool in ('unshare', 'opensc-tool'):
        if not shutil.which(tool):
            return f'{tool} is not installed'
    if not shutil.which('pcscd', path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin'):
        return 'pcscd is not installed'
    probe = ['unshare', '--mount', '--net', '--pid', '--fork', 'true']
    if os.geteuid() != 0:
        probe.insert(1, '--map-root-user')
    if subprocess.run(probe, capture_output=True, timeout=CALL_TIMEOUT).returncode != 0:
        return 'cannot create namespaces (needs root or unprivileged user namespaces)'
    return None


if __name__ == '__main__':
    reason = missing_requirement()
    if reason:
        print(f'skipped: {reason}', file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
