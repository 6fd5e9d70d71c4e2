#!/usr/bin/python3
"""errors-report over journals this test writes itself.

Each journal line is written by Python in the format src/core/recovery/journal.hpp fixes,
and every expected number is computed here from the records written, by the rules the
man page gives (cactool-errors-report(1), COUNTING): errors are kind "error" records,
recovery attempts kind "recovery" ones, recovered those with outcome "recovered"; the
recovery rate is recovered / recovery records with attempt 1; a failure is an error
record or a recovered attempt; a pattern is a code and operation with at least N failures
within the window, counted here by brute force rather than the sliding window cactool
keeps. Exit codes are SPEC.md's.
"""

import datetime
import json
import os
import subprocess
import tempfile
import unittest
from collections import Counter
from pathlib import Path

import testlib
from test_journal import mount_namespace_command

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The keys of a journal line, in journal.hpp's order.
RECORD_KEYS = [
    "time", "pid", "version", "subcommand", "kind", "operation", "code", "value", "domain",
    "category", "severity", "action", "attempt", "outcome", "duration_ms", "reader", "slot",
    "token_label", "token_serial", "module", "message",
]
CATEGORIES = ["usage", "configuration", "middleware", "communication", "card_state",
              "authentication", "token", "internal"]
SEVERITIES = ["info", "warning", "error", "critical"]

# Codes as PKCS#11 3.1 and pcsc-lite number them, with the taxonomy columns the journal
# carries for each.
REMOVED = ("CKR_DEVICE_REMOVED", 0x32, "pkcs11", "card_state", "error", "reopen_session")
RESET = ("SCARD_W_RESET_CARD", 0x80100068, "pcsc", "card_state", "warning", "reconnect")
NO_SERVICE = ("SCARD_E_NO_SERVICE", 0x8010001D, "pcsc", "middleware", "critical",
              "reestablish_context")
PIN = ("CKR_PIN_INCORRECT", 0xA0, "pkcs11", "authentication", "error", "user_action")

BASE = datetime.datetime(2026, 12, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
READER = "Virtual PCD 00 00"
MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


def stamp(when):
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)


def record(when, code, operation, kind="error", attempt=0, outcome="failed", reader=READER,
           module=MODULE):
    name, value, domain, category, severity, action = code
    return {
        "time": stamp(when), "pid": 4242, "version": "0.1.0", "subcommand": "certs",
        "kind": kind, "operation": operation, "code": name, "value": value,
        "domain": domain, "category": category, "severity": severity, "action": action,
        "attempt": attempt, "outcome": outcome, "duration_ms": 12.5, "reader": reader,
        "slot": "0", "token_label": "PIV_II", "token_serial": None, "module": module,
        "message": "failed to %s: %s" % (operation, name),
    }


def line(rec):
    assert list(rec) == RECORD_KEYS
    return json.dumps(rec, separators=(",", ":"))


def sample_records():
    """A morning of trouble: a card pulled out again and again, resets recovered or not,
    pcscd gone once, a wrong PIN."""
    recs = []
    minute = datetime.timedelta(minutes=1)
    # Five removals in C_FindObjects, ten minutes apart, each given up.
    for i in range(5):
        recs.append(record(BASE + i * 10 * minute, REMOVED, "C_FindObjects"))
    # Resets in SCardTransmit: recovered at once, recovered at the second attempt, and
    # given up after two failed attempts.
    t = BASE + 60 * minute
    recs.append(record(t, RESET, "SCardTransmit", "recovery", 1, "recovered"))
    recs.append(record(t + minute, RESET, "SCardTransmit", "recovery", 1, "failed"))
    recs.append(record(t + 2 * minute, RESET, "SCardTransmit", "recovery", 2, "recovered"))
    recs.append(record(t + 3 * minute, RESET, "SCardTransmit", "recovery", 1, "failed"))
    recs.append(record(t + 4 * minute, RESET, "SCardTransmit", "recovery", 2, "failed"))
    recs.append(record(t + 4 * minute, RESET, "SCardTransmit", "error", 0, "gave_up"))
    # pcscd gone, no reader known, another module.
    recs.append(record(BASE + 90 * minute, NO_SERVICE, "SCardEstablishContext", reader=None,
                       module="/usr/lib/softhsm/libsofthsm2.so"))
    # A wrong PIN, three hours later, and two removals in another operation.
    recs.append(record(BASE + 180 * minute, PIN, "C_Login", outcome="not_attempted"))
    recs.append(record(BASE + 181 * minute, REMOVED, "C_GetAttributeValue"))
    recs.append(record(BASE + 182 * minute, REMOVED, "C_GetAttributeValue"))
    return recs


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def is_failure(rec):
    return rec["kind"] == "error" or rec["outcome"] == "recovered"


def expected_totals(recs):
    errors = sum(r["kind"] == "error" for r in recs)
    attempts = sum(r["kind"] == "recovery" for r in recs)
    recovered = sum(r["kind"] == "recovery" and r["outcome"] == "recovered" for r in recs)
    tried = sum(r["kind"] == "recovery" and r["attempt"] == 1 for r in recs)
    return {
        "records": len(recs), "errors": errors, "recovery_attempts": attempts,
        "recovered": recovered, "recoveries_tried": tried,
        "recovery_rate": recovered / tried if tried else None,
        "failures": errors + recovered,
    }


def expected_patterns(recs, count, window_seconds):
    """{(code, operation): (failures, bursts, failures_in_bursts)} by brute force."""
    keys = {}
    for r in recs:
        if is_failure(r):
            keys.setdefault((r["code"], r["operation"]), []).append(parse_time(r["time"]))
    window = datetime.timedelta(seconds=window_seconds)
    found = {}
    for key, times in keys.items():
        times.sort()
        holds = [sum(t - window <= u <= t for u in times[: i + 1]) >= count
                 for i, t in enumerate(times)]
        bursts = sum(h and (i == 0 or not holds[i - 1]) for i, h in enumerate(holds))
        if any(holds):
            found[key] = (len(times), bursts, sum(holds))
    return found


def write_journal(path, recs, extra_lines=()):
    with open(path, "w", encoding="utf-8") as f:
        for rec in recs:
            f.write(line(rec) + "\n")
        for extra in extra_lines:
            f.write(extra + "\n")


class ErrorsReportTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-errors-report-")
        self.dir = Path(self.tmp.name)
        self.journal = self.dir / "journal.jsonl"
        self.env = testlib.clean_env(
            XDG_CONFIG_HOME=self.dir / "config",
            XDG_STATE_HOME=self.dir / "state",
            HOME=self.dir / "home",
        )

    def tearDown(self):
        self.tmp.cleanup()

    def report(self, *args, journal=None):
        return testlib.run_cactool(["--journal", journal or self.journal, "errors-report"]
                                   + list(args), self.env)

    def json_report(self, *args, journal=None):
        r = self.report("--json", *args, journal=journal)
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        doc = r.json()
        self.assertEqual(doc.key_order[0], "schema_version", r.describe())
        return doc

    def assertCounts(self, doc, recs):
        self.assertEqual({k: doc["totals"][k] for k in expected_totals(recs)},
                         expected_totals(recs))
        by = {c["code"]: c["count"] for c in doc["by_code"]}
        self.assertEqual(by, dict(Counter(r["code"] for r in recs)))
        self.assertEqual(list(doc["by_category"]), CATEGORIES)
        self.assertEqual({k: v["count"] for k, v in doc["by_category"].items()},
                         {c: sum(r["category"] == c for r in recs) for c in CATEGORIES})
        self.assertEqual(list(doc["by_severity"]), SEVERITIES)
        self.assertEqual({k: v["count"] for k, v in doc["by_severity"].items()},
                         {s: sum(r["severity"] == s for r in recs) for s in SEVERITIES})
        for key, field in (("by_operation", "operation"), ("by_reader", "reader"),
                           ("by_module", "module")):
            self.assertEqual({b[field]: b["count"] for b in doc[key]},
                             dict(Counter(r[field] for r in recs)), key)

    def test_counts_rate_and_first_and_last_seen(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        doc = self.json_report()
        self.assertCounts(doc, recs)
        self.assertEqual(doc["totals"]["recovery_rate"], 2 / 3)
        self.assertEqual(doc["damaged_lines"], 0)
        self.assertEqual(doc["journal"]["records_read"], len(recs))
        self.assertEqual(doc["range"]["first_seen"], recs[0]["time"])
        self.assertEqual(doc["range"]["last_seen"], recs[-1]["time"])
        removed = next(c for c in doc["by_code"] if c["code"] == "CKR_DEVICE_REMOVED")
        times = [r["time"] for r in recs if r["code"] == "CKR_DEVICE_REMOVED"]
        self.assertEqual((removed["first_seen"], removed["last_seen"]), (min(times), max(times)))
        self.assertEqual((removed["value"], removed["domain"]), (0x32, "pkcs11"))
        # Most records first.
        counts = [c["count"] for c in doc["by_code"]]
        self.assertEqual(counts, sorted(counts, reverse=True))
        # The hints are the taxonomy's; the most frequent failures' hint leads.
        self.assertTrue(doc["hints"])
        self.assertIn("CKR_DEVICE_REMOVED", doc["hints"][0]["codes"])
        self.assertEqual(doc["hints"][0]["failures"], 7)

    def test_text_report(self):
        recs = sample_records()
        write_journal(self.journal, recs, ["not json"])
        r = self.report()
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertIn("%d records" % len(recs), r.stdout)
        self.assertIn("1 damaged line", r.stdout)
        self.assertIn("CKR_DEVICE_REMOVED in C_FindObjects", r.stdout)
        self.assertIn("66.7%", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_patterns_default_and_configured(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        for args, count, window in (([], 3, 3600),
                                    (["--pattern-count", "2", "--pattern-window", "90s"], 2, 90),
                                    (["--pattern-count", "5", "--pattern-window", "1h"], 5, 3600),
                                    (["--pattern-count", "2", "--pattern-window", "2m"], 2, 120)):
            with self.subTest(args=args):
                doc = self.json_report(*args)
                self.assertEqual(doc["pattern_rule"], {"count": count, "window_seconds": window})
                got = {(p["code"], p["operation"]):
                       (p["failures"], p["bursts"], p["failures_in_bursts"])
                       for p in doc["patterns"]}
                self.assertEqual(got, expected_patterns(recs, count, window))
        # The brute force agrees that the default rule finds the removals.
        self.assertIn(("CKR_DEVICE_REMOVED", "C_FindObjects"), expected_patterns(recs, 3, 3600))

    def test_pattern_settings_from_the_config_file(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        config = self.dir / "config" / "cactool" / "config.json"
        config.parent.mkdir(parents=True)
        config.write_text('{"errors_report": {"pattern_count": 2, "pattern_window": "2m"}}')
        doc = self.json_report()
        self.assertEqual(doc["pattern_rule"], {"count": 2, "window_seconds": 120})
        self.assertEqual(len(doc["patterns"]), len(expected_patterns(recs, 2, 120)))
        # The command line wins over the file.
        doc = self.json_report("--pattern-count", "4")
        self.assertEqual(doc["pattern_rule"], {"count": 4, "window_seconds": 120})

    def test_filters(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        cases = [
            (["--category", "middleware,authentication"],
             lambda r: r["category"] in ("middleware", "authentication")),
            (["--category", "middleware", "--category", "card_state"],
             lambda r: r["category"] in ("middleware", "card_state")),
            (["--code", "CKR_PIN_INCORRECT"], lambda r: r["code"] == "CKR_PIN_INCORRECT"),
            (["--code", "scard_w_reset_card"], lambda r: r["code"] == "SCARD_W_RESET_CARD"),
            (["--code", "0x32"], lambda r: r["value"] == 0x32),
            (["--code", str(0x8010001D)], lambda r: r["value"] == 0x8010001D),
            (["--since", stamp(BASE + datetime.timedelta(minutes=60)),
              "--until", stamp(BASE + datetime.timedelta(minutes=90))],
             lambda r: stamp(BASE + datetime.timedelta(minutes=60)) <= r["time"]
             <= stamp(BASE + datetime.timedelta(minutes=90))),
            (["--since", "2026-12-01T09:00:00+01:00"], lambda r: r["time"] >= stamp(BASE)),
        ]
        for args, keep in cases:
            with self.subTest(args=args):
                doc = self.json_report(*args)
                self.assertCounts(doc, [r for r in recs if keep(r)])

    def test_relative_times_count_back_from_now(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        ages = [datetime.timedelta(days=9), datetime.timedelta(days=2),
                datetime.timedelta(hours=5), datetime.timedelta(minutes=10)]
        recs = [record(now - age, REMOVED, "C_FindObjects") for age in ages]
        write_journal(self.journal, recs)
        # Margins of hours around each bound: the run takes seconds, not hours.
        for args, expected in ((["--since", "7d"], 3), (["--since", "24h"], 2),
                               (["--since", "30m"], 1), (["--until", "1h"], 3),
                               (["--since", "3d", "--until", "1d"], 1),
                               # Zero is now: nothing since, everything until.
                               (["--since", "0h"], 0), (["--since", "0s"], 0),
                               (["--until", "0s"], 4), (["--since", "7d", "--until", "0h"], 3)):
            with self.subTest(args=args):
                self.assertEqual(self.json_report(*args)["totals"]["records"], expected)

    def test_damaged_lines_are_counted_never_fatal(self):
        recs = sample_records()[:3]
        missing_key = dict(recs[0])
        del missing_key["operation"]
        wrong_type = dict(recs[0], pid="4242")
        unknown_kind = dict(recs[0], kind="warning")
        damaged = ["", "{", "[1,2]", json.dumps(missing_key), json.dumps(wrong_type),
                   json.dumps(unknown_kind), "x" * (70 * 1024)]
        write_journal(self.journal, recs, damaged)
        with open(self.journal, "a") as f:
            f.write(line(recs[0]))  # a last line without its newline still counts
        doc = self.json_report()
        self.assertEqual(doc["damaged_lines"], len(damaged))
        self.assertCounts(doc, recs + [recs[0]])

    def test_no_journal_is_an_empty_report(self):
        missing = self.dir / "nowhere" / "journal.jsonl"
        doc = self.json_report(journal=missing)
        self.assertFalse(doc["journal"]["exists"])
        self.assertEqual(doc["totals"]["records"], 0)
        self.assertIsNone(doc["totals"]["recovery_rate"])
        self.assertEqual(doc["by_code"], [])
        r = self.report(journal=missing)
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertIn("no journal at %s" % missing, r.stdout)
        self.assertFalse(missing.parent.exists(), "reading creates nothing")

    def test_default_location_is_the_xdg_state_folder(self):
        journal = self.dir / "state" / "cactool" / "journal.jsonl"
        journal.parent.mkdir(parents=True)
        recs = sample_records()
        write_journal(journal, recs)
        r = testlib.run_cactool(["errors-report", "--json"], self.env)
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertEqual(r.json()["totals"]["records"], len(recs))

    def test_include_context_lists_the_matching_records(self):
        recs = sample_records()
        write_journal(self.journal, recs, ["damaged"])
        doc = self.json_report("--include-context", "--code", "SCARD_W_RESET_CARD")
        expected = [r for r in recs if r["code"] == "SCARD_W_RESET_CARD"]
        self.assertEqual(doc["errors"], expected)
        self.assertEqual(list(doc["errors"][0]), RECORD_KEYS)
        self.assertNotIn("errors", self.json_report())
        text = self.report("--include-context", "--code", "CKR_PIN_INCORRECT")
        self.assertIn("failed to C_Login: CKR_PIN_INCORRECT", text.stdout)

    def test_output_file(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        out = self.dir / "reports" / "report.json"
        out.parent.mkdir()
        out.write_text("the previous report\n")
        r = self.report("-o", out)
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertIn("errors %d," % expected_totals(recs)["errors"], r.stdout,
                      "text still goes to stdout")
        doc = json.loads(out.read_text())
        self.assertEqual(doc["schema_version"], 1)
        self.assertCounts(doc, recs)
        self.assertEqual(sorted(p.name for p in out.parent.iterdir()), ["report.json"])
        # With --json as well, stdout holds the same document.
        r = self.report("-o", out, "--json", "--include-context")
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertEqual(json.loads(out.read_text()), r.json())

    def test_output_file_is_never_half_written(self):
        write_journal(self.journal, sample_records())
        out = self.dir / "report.json"
        out.write_text("the previous report\n")
        # A journal that cannot be read (a folder) fails the run after the report file
        # was begun: the previous report stays, and no temporary file is left.
        unreadable = self.dir / "folder-journal"
        unreadable.mkdir()
        r = self.report("-o", out, journal=unreadable)
        self.assertEqual(r.rc, EXIT_FAILED, r.describe())
        self.assertEqual(out.read_text(), "the previous report\n")
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()),
                         ["folder-journal", "journal.jsonl", "report.json"])
        # A folder that does not exist: a clear message, nothing written.
        r = self.report("-o", self.dir / "no" / "report.json")
        self.assertEqual(r.rc, EXIT_FAILED, r.describe())
        self.assertIn("report", r.stderr)
        self.assertIn(os.strerror(2), r.stderr)
        # A folder as FILE is a usage error found before any report is made or printed.
        r = self.report("-o", self.dir)
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        self.assertEqual(r.stdout, "", r.describe())
        self.assertIn("is a folder", r.stderr)

    def test_output_into_a_read_only_folder(self):
        prefix = mount_namespace_command()
        if prefix is None:
            self.skipTest("no private mount namespace for a read-only tmpfs")
        write_journal(self.journal, sample_records())
        folder = self.dir / "ro"
        folder.mkdir()
        script = ('mount -t tmpfs -o size=64k,ro tmpfs "$1" && "$2" --journal "$3" '
                  'errors-report -o "$1/report.json"; echo "rc=$?"; ls -A "$1"')
        proc = subprocess.run(
            prefix + ["--", "sh", "-c", script, "sh", str(folder), testlib.cactool_path(),
                      str(self.journal)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, timeout=60)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        self.assertIn("rc=%d" % EXIT_FAILED, out, err)
        self.assertIn(os.strerror(30), err)  # EROFS
        self.assertIn("write the report", err)
        self.assertEqual(out.strip().splitlines()[-1], "rc=1", "nothing left in the folder")

    def test_rotate(self):
        recs = sample_records()
        write_journal(self.journal, recs)
        older = Path(str(self.journal) + ".1")
        older.write_text(line(recs[0]) + "\n")
        doc = self.json_report("--rotate")
        self.assertCounts(doc, recs)
        self.assertEqual(doc["journal"]["rotated_to"], str(older))
        self.assertFalse(self.journal.exists())
        self.assertEqual(len(older.read_text().splitlines()), len(recs), ".1 replaced")
        # The next report starts empty, and sees what is appended after the rotation.
        self.assertEqual(self.json_report()["totals"]["records"], 0)
        write_journal(self.journal, recs[:2])
        self.assertEqual(self.json_report()["totals"]["records"], 2)
        # --include-rotated reads .1 first.
        doc = self.json_report("--include-rotated")
        self.assertEqual(doc["totals"]["records"], len(recs) + 2)
        # Rotating nothing is no error.
        self.json_report("--rotate", journal=self.dir / "none.jsonl")

    def test_rotate_while_writers_append_loses_nothing(self):
        writer = os.environ.get("CACTOOL_JOURNAL_APPEND")
        if not writer:
            self.skipTest("CACTOOL_JOURNAL_APPEND is not set; meson sets it")
        count = 50000
        proc = subprocess.Popen([writer, str(self.journal), "rotation", str(count), "--fresh"],
                                stderr=subprocess.PIPE)
        reported = 0
        rotations = 0
        while proc.poll() is None or rotations == 0:
            # Each rotation replaces .1: count what it held before it goes.
            doc = self.json_report("--rotate")
            reported += doc["totals"]["records"]
            self.assertEqual(doc["damaged_lines"], 0)
            rotations += 1
        _, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, err.decode())
        reported += self.json_report()["totals"]["records"]
        self.assertEqual(reported, count, "every appended record reported exactly once")

    def test_bad_options_are_usage_errors(self):
        write_journal(self.journal, sample_records())
        for args, named in ((["--category", "token,bogus"], "bogus"),
                            (["--category", "Token"], "Token"),
                            (["--code", "DEVICE_REMOVED"], "DEVICE_REMOVED"),
                            (["--since", "yesterday"], "yesterday"),
                            (["--until", "5x"], "5x"),
                            (["--since", "1h", "--until", "2h"], "--since"),
                            (["--pattern-count", "1"], "--pattern-count"),
                            (["--pattern-count", "three"], "--pattern-count"),
                            (["--pattern-window", "0h"], "longer than zero"),
                            (["--rotate", "--include-rotated"], "--include-rotated"),
                            (["--since", ""], "--since")):
            with self.subTest(args=args):
                r = self.report(*args)
                self.assertEqual(r.rc, EXIT_USAGE, r.describe())
                self.assertIn(named, r.stderr)
                self.assertEqual(r.stdout, "")
        r = testlib.run_cactool(["--no-journal", "errors-report"], self.env)
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        r = self.report("--json", "--category", "bogus")
        self.assertEqual(r.rc, EXIT_USAGE, r.describe())
        self.assertIn("error", r.json())
        # None of these was a rotation.
        self.assertTrue(self.journal.exists())

    def test_what_failing_commands_journal_is_reported(self):
        # SPEC.md: a missing module exits 6; the taxonomy names cactool's own code for it.
        missing = self.dir / "no-such-pkcs11-module.so"
        for _ in range(3):
            r = testlib.run_cactool(["--journal", self.journal, "--module", missing, "slots"],
                                    self.env)
            self.assertEqual(r.rc, 6, r.describe())
        doc = self.json_report("--pattern-count", "3", "--pattern-window", "1h")
        self.assertEqual(doc["totals"]["errors"], 3)
        self.assertEqual([(c["code"], c["count"]) for c in doc["by_code"]],
                         [("CACTOOL_MODULE_NOT_FOUND", 3)])
        self.assertEqual([b["module"] for b in doc["by_module"]], [str(missing)])
        self.assertEqual([p["code"] for p in doc["patterns"]], ["CACTOOL_MODULE_NOT_FOUND"])

    def diag_journal_check(self, journal):
        # No module and no pcscd (a socket name of this test's own, so the machine's pcscd
        # is never asked): only the journal check matters here.
        env = dict(self.env, PCSCLITE_CSOCK_NAME=str(self.dir / "no-pcscd.comm"))
        r = testlib.run_cactool(["--journal", journal, "--module", self.dir / "none.so",
                                 "--json", "diag"], env)
        checks = [c for c in r.json()["checks"] if c["id"] == "journal"]
        self.assertEqual(len(checks), 1, r.describe())
        return checks[0]

    def test_diag_gives_the_hint_of_the_code_it_names(self):
        # One failure of each: the code named is a tie, and the hint must be that code's
        # (the timeout's speaks of --timeout, the wrong PIN's of the PIN), not whichever
        # hint sorts first among the codes seen.
        timeout = ("CACTOOL_TIMEOUT", 16, "core", "communication", "error", "none")
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        write_journal(self.journal, [record(now, timeout, "C_Sign"),
                                     record(now, PIN, "C_Login")])
        check = self.diag_journal_check(self.journal)
        self.assertEqual(check["status"], "warn", check)
        named = [c for c in ("CACTOOL_TIMEOUT", "CKR_PIN_INCORRECT") if c in check["message"]]
        self.assertEqual(len(named), 1, check)
        if named == ["CACTOOL_TIMEOUT"]:
            self.assertIn("--timeout", check["hint"])
            self.assertNotIn("PIN", check["hint"])
        else:
            self.assertIn("PIN", check["hint"])
            self.assertNotIn("--timeout", check["hint"])

    def test_diag_says_how_to_mend_a_journal_that_is_a_folder(self):
        folder = self.dir / "journal-folder"
        folder.mkdir()
        check = self.diag_journal_check(folder)
        self.assertEqual(check["status"], "warn", check)
        self.assertIn("point it at a file", check["hint"])

    def test_busybox_link(self):
        link = self.dir / "cactool-errors-report"
        os.symlink(testlib.cactool_path(), link)
        write_journal(self.journal, sample_records())
        r = testlib.run_cactool(["--journal", self.journal, "--json"], self.env, exe=str(link))
        self.assertEqual(r.rc, EXIT_OK, r.describe())
        self.assertEqual(r.json()["totals"]["records"], len(sample_records()))


if __name__ == "__main__":
    unittest.main()
