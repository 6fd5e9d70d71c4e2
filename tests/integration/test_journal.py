#!/usr/bin/python3
"""The error journal: records from cactool's error path, many writers appending at once,
and journals that cannot be written (a read-only folder, a full file system).

Expected values come from SPEC.md (exit codes, the journal's promises), the record
format in src/core/recovery/journal.hpp (keys and their order), the taxonomy's naming of
cactool's own codes, and Python's json and os.strerror; never from another cactool run
compared with itself, except where the point is that a journal changes nothing.

The read-only and full cases mount a small tmpfs inside a private mount namespace
(`unshare --mount`, with --map-root-user when not root), so nothing is mounted where the
rest of the machine could see it.
"""

import datetime
import errno
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

import testlib

# The keys of a journal line, in the order journal.hpp fixes.
RECORD_KEYS = [
    "time", "pid", "version", "subcommand", "kind", "operation", "code", "value", "domain",
    "category", "severity", "action", "attempt", "outcome", "duration_ms", "reader", "slot",
    "token_label", "token_serial", "module", "message",
]

# SPEC.md, exit codes: 6 is "middleware unavailable: ... module missing".
EXIT_MIDDLEWARE = 6
EXIT_USAGE = 2
# The taxonomy's name for cactool's own "module not found" code.
MODULE_NOT_FOUND = "CACTOOL_MODULE_NOT_FOUND"


def journal_append_path():
    path = os.environ.get("CACTOOL_JOURNAL_APPEND")
    if not path:
        raise unittest.SkipTest("CACTOOL_JOURNAL_APPEND is not set; meson sets it")
    return path


def read_records(path):
    """Every line of a journal file as a dict; fails on a line that is not JSON."""
    records = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                raise AssertionError("%s: line %d has no newline" % (path, number))
            records.append(json.loads(raw.decode("utf-8")))
    return records


def mount_namespace_command():
    """The unshare prefix for a private mount namespace, or None when it is refused."""
    if shutil.which("unshare") is None:
        return None
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.append("--map-root-user")
    with tempfile.TemporaryDirectory(prefix="cactool-ns-") as d:
        probe = subprocess.run(
            prefix + ["--", "mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", d],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return prefix if probe.returncode == 0 else None


class JournalFromCactoolTest(unittest.TestCase):
    """What a failing cactool command leaves in the journal."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-journal-")
        self.dir = Path(self.tmp.name)
        self.env = testlib.clean_env(
            XDG_CONFIG_HOME=self.dir / "config",
            XDG_STATE_HOME=self.dir / "state",
            HOME=self.dir / "home",
        )
        self.missing = self.dir / "no-such-pkcs11-module.so"

    def tearDown(self):
        self.tmp.cleanup()

    def cactool(self, *args, env=None):
        return testlib.run_cactool(list(args), env or self.env)

    def assertOneModuleRecord(self, path, subcommand="slots"):
        records = read_records(path)
        self.assertEqual(len(records), 1, "exactly one record per reported error")
        record = records[0]
        self.assertEqual(list(record.keys()), RECORD_KEYS)
        self.assertEqual(record["kind"], "error")
        self.assertEqual(record["code"], MODULE_NOT_FOUND)
        self.assertEqual(record["domain"], "core")
        self.assertEqual(record["subcommand"], subcommand)
        self.assertEqual(record["module"], str(self.missing))
        self.assertEqual(record["attempt"], 0)
        self.assertEqual(record["outcome"], "failed")
        self.assertIsInstance(record["pid"], int)
        self.assertGreater(record["pid"], 0)
        self.assertIsInstance(record["version"], str)
        self.assertTrue(record["version"])
        when = datetime.datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        age = datetime.datetime.utcnow() - when
        self.assertLess(abs(age.total_seconds()), 120, "time is now, in UTC")
        return record

    def test_a_failing_command_writes_one_record_to_the_given_journal(self):
        journal = self.dir / "given" / "journal.jsonl"
        r = self.cactool("--journal", journal, "--module", self.missing, "slots")
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertNotIn("warning", r.stderr)
        self.assertOneModuleRecord(journal)
        self.assertEqual(os.stat(journal).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(journal.parent).st_mode & 0o777, 0o700)
        self.assertFalse((self.dir / "state").exists(), "only the given journal is written")

    def test_json_mode_journals_the_same_error(self):
        journal = self.dir / "journal.jsonl"
        r = self.cactool("--journal", journal, "--module", self.missing, "certs", "--json")
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertEqual(json.loads(r.stdout)["error"]["name"], MODULE_NOT_FOUND)
        self.assertOneModuleRecord(journal, "certs")

    def test_the_environment_names_the_journal_when_no_option_does(self):
        journal = self.dir / "from-env.jsonl"
        env = dict(self.env, CACTOOL_JOURNAL=str(journal))
        r = self.cactool("--module", self.missing, "slots", env=env)
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertOneModuleRecord(journal)
        # --journal wins over the environment.
        other = self.dir / "from-option.jsonl"
        r = self.cactool("--journal", other, "--module", self.missing, "slots", env=env)
        self.assertEqual(len(read_records(journal)), 1)
        self.assertOneModuleRecord(other)

    def test_the_config_file_names_the_journal_when_nothing_else_does(self):
        journal = self.dir / "from-config.jsonl"
        config = self.dir / "config.json"
        config.write_text(json.dumps({"journal": {"path": str(journal)}}))
        r = self.cactool("--config", config, "--module", self.missing, "slots")
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertOneModuleRecord(journal)

    def test_the_default_journal_is_in_the_xdg_state_folder(self):
        r = self.cactool("--module", self.missing, "slots")
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertOneModuleRecord(self.dir / "state" / "cactool" / "journal.jsonl")
        # Without XDG_STATE_HOME: ~/.local/state, as the XDG Base Directory spec says.
        env = dict(self.env)
        del env["XDG_STATE_HOME"]
        r = self.cactool("--module", self.missing, "slots", env=env)
        self.assertOneModuleRecord(
            self.dir / "home" / ".local" / "state" / "cactool" / "journal.jsonl")

    def test_no_journal_writes_nothing_anywhere(self):
        journal = self.dir / "journal.jsonl"
        env = dict(self.env, CACTOOL_JOURNAL=str(journal))
        r = self.cactool("--no-journal", "--module", self.missing, "slots", env=env)
        self.assertEqual(r.rc, EXIT_MIDDLEWARE, r.describe())
        self.assertFalse(journal.exists())
        self.assertFalse((self.dir / "state").exists())
        self.assertFalse((self.dir / "home").exists())

    def test_a_wrong_command_line_is_not_journaled(self):
        journal = self.dir / "journal.jsonl"
        r = self.cactool("--journal", journal, "--timeout", "soon", "--module", self.missing,
                         "slots")
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        r = self.cactool("--journal", journal, "slotz")
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        # A config file that is not JSON is a usage error too (cactool(1), FILES: exit 2).
        config = self.dir / "broken.json"
        config.write_text("{ not json\n")
        r = self.cactool("--journal", journal, "--config", config, "--module", self.missing,
                         "slots")
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        self.assertFalse(journal.exists())

    def test_records_append_to_an_existing_journal(self):
        journal = self.dir / "journal.jsonl"
        for _ in range(3):
            self.cactool("--journal", journal, "--module", self.missing, "slots")
        records = read_records(journal)
        self.assertEqual(len(records), 3)
        self.assertEqual(len({r["pid"] for r in records}), 3)


class ConcurrentWritersTest(unittest.TestCase):
    """8 processes appending 1,000 records each at the same moment."""

    WRITERS = 8
    RECORDS = 1000

    def setUp(self):
        self.append = journal_append_path()
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-journal-")
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def run_writers(self, journal, *extra):
        procs = [
            subprocess.Popen(
                [self.append, str(journal), "writer-%d" % i, str(self.RECORDS)] + list(extra),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for i in range(self.WRITERS)
        ]
        for p in procs:
            _, err = p.communicate(timeout=240)
            self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
        return {p.pid for p in procs}

    def check_records(self, records, pids):
        self.assertEqual(len(records), self.WRITERS * self.RECORDS)
        seen = {}
        for record in records:
            self.assertEqual(list(record.keys()), RECORD_KEYS)
            key = (record["pid"], record["attempt"])
            self.assertNotIn(key, seen, "a record written twice")
            seen[key] = record["subcommand"]
        self.assertEqual({pid for pid, _ in seen}, pids)
        for pid in pids:
            sequences = sorted(a for p, a in seen if p == pid)
            self.assertEqual(sequences, list(range(1, self.RECORDS + 1)))
            self.assertEqual(len({m for (p, _), m in seen.items() if p == pid}), 1)

    def test_every_record_arrives_once_and_whole(self):
        journal = self.dir / "journal.jsonl"
        pids = self.run_writers(journal)
        self.check_records(read_records(journal), pids)

    def test_rotation_under_concurrent_writers_loses_nothing(self):
        # A cap that the 8,000 records pass once: the older file and the current one
        # then hold every record between them, each writer's in its own order.
        line = subprocess.run([self.append, "--line"], stdout=subprocess.PIPE,
                              check=True).stdout
        cap = len(line) * self.WRITERS * self.RECORDS * 2 // 3
        journal = self.dir / "journal.jsonl"
        pids = self.run_writers(journal, "--max-bytes", str(cap))
        older = read_records(str(journal) + ".1")
        newer = read_records(journal)
        self.assertLessEqual(os.path.getsize(str(journal) + ".1"), cap)
        self.assertGreater(len(older), 0)
        self.assertGreater(len(newer), 0)
        self.check_records(older + newer, pids)
        for pid in pids:
            sequence = [r["attempt"] for r in older + newer if r["pid"] == pid]
            self.assertEqual(sequence, sorted(sequence), "each writer's records in order")


class UnwritableJournalTest(unittest.TestCase):
    """A journal that cannot be written: one warning, and the same result otherwise."""

    @classmethod
    def setUpClass(cls):
        cls.unshare = mount_namespace_command()
        if cls.unshare is None:
            raise unittest.SkipTest(
                "no private mount namespace (unshare --mount refused): a read-only or full "
                "file system cannot be made without mounting on the machine itself")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-journal-")
        self.dir = Path(self.tmp.name)
        self.mount = self.dir / "mnt"
        self.mount.mkdir()
        self.env = testlib.clean_env(XDG_CONFIG_HOME=self.dir / "config",
                                     XDG_STATE_HOME=self.dir / "state", HOME=self.dir / "home")
        self.args = ["--module", str(self.dir / "no-such-module.so"), "slots"]

    def tearDown(self):
        self.tmp.cleanup()

    def run_mounted(self, setup, journal, extra=()):
        """cactool with --journal, after `setup` (shell) in a private mount namespace."""
        script = setup + ' && exec "$@"'
        argv = self.unshare + ["--", "/bin/sh", "-ec", script, "sh", testlib.cactool_path(),
                               "--journal", str(journal)] + list(extra) + self.args
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env, timeout=120)

    def assertSameButOneWarning(self, journal, proc, reason):
        reference = testlib.run_cactool(["--no-journal"] + self.args, self.env)
        self.assertEqual(proc.returncode, reference.rc)
        self.assertEqual(proc.returncode, EXIT_MIDDLEWARE)
        self.assertEqual(proc.stdout, reference.stdout_bytes)
        lines = proc.stderr.decode().splitlines()
        warning = "cactool: warning: cannot write the error journal %s: %s" % (journal, reason)
        self.assertEqual([l for l in lines if "warning" in l], [warning])
        self.assertEqual([l for l in lines if l != warning], reference.stderr.splitlines())

    def test_a_fifo_or_a_device_is_no_journal_and_holds_nothing_up(self):
        # A FIFO nobody reads would block open(2); a device would swallow the records.
        fifo = self.dir / "fifo"
        os.mkfifo(fifo)
        for journal in (fifo, Path("/dev/null")):
            with self.subTest(journal=str(journal)):
                proc = subprocess.run([testlib.cactool_path(), "--journal", str(journal)]
                                      + self.args, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=self.env, timeout=30)
                self.assertSameButOneWarning(journal, proc, "it is not a regular file")
        r = testlib.run_cactool(["--journal", str(fifo), "errors-report"], self.env,
                                timeout=30)
        self.assertIn("not a regular file", r.stderr)
        # --rotate opens it as the writer does: refused at once, and left where it is.
        r = testlib.run_cactool(["--journal", str(fifo), "errors-report", "--rotate"], self.env,
                                timeout=30)
        self.assertIn("not a regular file", r.stderr)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        self.assertFalse(os.path.lexists(str(fifo) + ".1"))

    def test_a_read_only_folder(self):
        mount = "mount -t tmpfs -o ro,size=16k tmpfs '%s'" % self.mount
        for journal in (self.mount / "journal.jsonl", self.mount / "sub" / "journal.jsonl"):
            with self.subTest(journal=str(journal)):
                proc = self.run_mounted(mount, journal)
                self.assertSameButOneWarning(journal, proc, os.strerror(errno.EROFS))

    def test_quiet_silences_the_warning(self):
        journal = self.mount / "journal.jsonl"
        proc = self.run_mounted("mount -t tmpfs -o ro,size=16k tmpfs '%s'" % self.mount, journal,
                                extra=["-q"])
        reference = testlib.run_cactool(["--no-journal", "-q"] + self.args, self.env)
        self.assertEqual(proc.returncode, reference.rc)
        self.assertEqual(proc.stdout, reference.stdout_bytes)
        self.assertEqual(proc.stderr.decode(), reference.stderr)
        self.assertNotIn("warning", reference.stderr)

    def test_a_full_file_system(self):
        journal = self.mount / "journal.jsonl"
        mount = "mount -t tmpfs -o size=16k tmpfs '%s'" % self.mount
        fill = "dd if=/dev/zero of='%s/fill' bs=1024 count=64 2>/dev/null || true" % self.mount
        proc = self.run_mounted(mount + " && " + fill, journal)
        self.assertSameButOneWarning(journal, proc, os.strerror(errno.ENOSPC))

    def test_a_record_cut_short_by_a_full_disk_is_taken_back(self):
        # A journal ending 60 bytes before a page boundary on a 16 KiB tmpfs whose other
        # pages are taken: the next record's first 60 bytes fit, the rest does not, so
        # write(2) stops short. The partial line must not stay in the file.
        append = journal_append_path()
        prepared = self.dir / "prepared.jsonl"
        subprocess.run([append, str(prepared), "before", "8"], check=True)
        lines = prepared.read_bytes().splitlines(keepends=True)
        content = b"".join(lines)
        while len(content) > 4096 - 60:
            lines.pop()
            content = b"".join(lines)
        # JSON allows blanks before the closing brace: pad the last line to the size wanted.
        lines[-1] = lines[-1][:-2] + b" " * (4096 - 60 - len(content)) + b"}\n"
        content = b"".join(lines)
        self.assertEqual(len(content), 4096 - 60)
        prepared.write_bytes(content)
        journal = self.mount / "journal.jsonl"
        setup = ("mount -t tmpfs -o size=16k tmpfs '{m}' && cp '{p}' '{j}' && "
                 "(dd if=/dev/zero of='{m}/fill' bs=1024 count=64 2>/dev/null || true) && "
                 "cp '{j}' '{d}/before.jsonl'").format(m=self.mount, p=prepared, j=journal,
                                                       d=self.dir)
        script_after = "; cp '%s' '%s/after.jsonl'" % (journal, self.dir)
        argv = self.unshare + ["--", "/bin/sh", "-c",
                               setup + ' && "$@"; status=$?' + script_after + "; exit $status",
                               "sh", testlib.cactool_path(), "--journal", str(journal)] + self.args
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env, timeout=120)
        self.assertSameButOneWarning(journal, proc, os.strerror(errno.ENOSPC))
        self.assertEqual((self.dir / "before.jsonl").read_bytes(), content)
        self.assertEqual((self.dir / "after.jsonl").read_bytes(), content,
                         "the partial record was truncated away")
        self.assertEqual(len(read_records(self.dir / "after.jsonl")), len(lines))


if __name__ == "__main__":
    unittest.main(verbosity=2)
