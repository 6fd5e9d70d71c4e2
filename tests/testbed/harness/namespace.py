"""The inner part's view of the machine: loopback up in the new network namespace, a
private /run/pcscd, the machine's USB reader drivers hidden, and the state folder removed
without reaching through a mount."""

import ctypes
import fcntl
import os
import re
import shutil
import socket
import struct

from .errors import BedError, say

PCSCD_DIR = '/run/pcscd'
USB_DRIVER_DIR = '/usr/lib/pcsc/drivers'

LIBC = ctypes.CDLL(None, use_errno=True)
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 2


def check_libc(result, what):
    if result != 0:
        raise BedError(f'cannot {what}: {os.strerror(ctypes.get_errno())}')


def mount(source, target, fstype=None, flags=0, data=None):
    def encode(text):
        return text.encode() if text is not None else None
    check_libc(LIBC.mount(encode(source), encode(target), encode(fstype), flags, encode(data)),
               f'mount {source} on {target}')


def unmount(target):
    check_libc(LIBC.umount2(target.encode(), MNT_DETACH), f'unmount {target}')


def loopback_up():
    """Bring up lo in the new network namespace (SIOCGIFFLAGS, then SIOCSIFFLAGS)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack('16sh14x', b'lo', 0)
        flags = struct.unpack('16sh14x', fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack('16sh14x', b'lo', flags | iff_up))


def private_run_pcscd(state):
    """Mount a private tmpfs over /run/pcscd without touching the machine's /run.

    When the machine has /run/pcscd, the tmpfs goes straight over it. When it has not,
    creating the mount point would create it on the machine; so /run itself becomes a
    tmpfs that holds a bind mount of each of the machine's /run entries (their own mounts
    included) and a fresh pcscd folder. Files the bed creates at the top of /run stay in
    that tmpfs and vanish with the namespace."""
    if not os.path.isdir(PCSCD_DIR):
        private_run(state)
        os.mkdir(PCSCD_DIR, 0o755)
    mount('tmpfs', PCSCD_DIR, 'tmpfs', data='mode=755')


def private_run(state):
    """A tmpfs over /run with the machine's /run entries bound back into it."""
    host_run = os.path.join(state, 'host-run')
    os.mkdir(host_run)
    mount('/run', host_run, flags=MS_BIND | MS_REC)
    try:
        mount('tmpfs', '/run', 'tmpfs', data='mode=755')
        for entry in sorted(os.listdir(host_run)):
            bind_back(os.path.join(host_run, entry), os.path.join('/run', entry))
    finally:
        # Detached at once, so nothing under the state folder leads into the
        # machine's /run.
        unmount(host_run)
    os.rmdir(host_run)


def bind_back(source, target):
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    if os.path.isdir(source):
        os.mkdir(target)
    else:
        open(target, 'w').close()
    mount(source, target, flags=MS_BIND | MS_REC)


def hide_usb_drivers():
    """An empty folder over pcscd's USB driver bundles: the bed's pcscd then claims none
    of the machine's real readers (pcscd has no option to turn its USB hotplug off)."""
    if os.path.isdir(USB_DRIVER_DIR):
        mount('tmpfs', USB_DRIVER_DIR, 'tmpfs', data='mode=755')


def mounts_under(folder):
    """Mount points at or below folder, deepest first, from /proc/self/mountinfo."""
    points = []
    with open('/proc/self/mountinfo') as table:
        for line in table:
            point = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == folder or point.startswith(folder + '/'):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def remove_state(state):
    """Remove the state folder from inside the namespace, never through a mount point:
    the machine's /run is bind-mounted under it for a moment at start, and a recursive
    delete must not reach it. If a mount cannot be detached, the folder stays."""
    try:
        for point in mounts_under(state):
            unmount(point)
    except (BedError, OSError) as error:
        say(f'kept the state folder {state}: {error}')
        return
    shutil.rmtree(state, ignore_errors=True)
