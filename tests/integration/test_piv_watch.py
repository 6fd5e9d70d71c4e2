"""`cactool watch` on the PC/SC test bed: the events the bed's control channel causes.

Expected values: what `cardctl` did (card removed, inserted, pcscd restarted, a reader
added, with the names the bed gives), when cardsim's own log says it did it, the card
profile's ATR (card.json), and SPEC.md's exit codes. watch runs as a subprocess whose stdout is read line by line with deadlines.
"""

import datetime
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402

EVENT_KEYS = ["time", "event", "reader", "atr"]


def card_socket(*commands):
    """Sends commands in one go on cardsim's control socket; returns its answers in order."""
    path = os.path.join(os.environ["CACTOOL_TESTBED_DIR"], "cardsim.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall("".join(command + "\n" for command in commands).encode())
        data = b""
        while data.count(b"\n") < len(commands):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answers = [json.loads(line) for line in data.splitlines()]
    for command, answer in zip(commands, answers):
        if not answer.get("ok"):
            raise AssertionError("cardsim refused %r: %r" % (command, answer))
    if len(answers) != len(commands):
        raise AssertionError("cardsim answered %d of %d commands" % (len(answers), len(commands)))
    return answers


def log_time(text):
    """A time from cardsim's log: RFC 3339, UTC, milliseconds."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


class Watcher:
    """`cactool watch --json` in the background, its events read as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [testlib.cactool_path(), "watch", "--json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=testlib.clean_env())
        self.buffer = b""

    def next_event(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    return None
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def events_until(self, wanted, timeout=10):
        """Events up to and including the first whose (event, reader) is `wanted`."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.next_event(deadline - time.monotonic())
            if event is None:
                break
            seen.append(event)
            if (event["event"], event["reader"]) == wanted:
                return seen
        raise AssertionError("no %r among %r" % (wanted, seen))

    def stop(self):
        """SIGTERM ends watch cleanly: exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc.stderr.close()


class Watch(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        testbed.cardctl("pcscd", "start", check=False)
        testbed.restore_card()
        self.watcher = Watcher()
        # Nothing is reported for the state at start; give the monitor time to wait.
        time.sleep(0.5)

    def tearDown(self):
        if self.watcher.proc.poll() is None:
            self.watcher.stop()

    def test_remove_and_insert_are_reported_with_the_profiles_atr(self):
        reader = testbed.reader_name()
        testbed.cardctl("remove")
        removed = self.watcher.events_until(("card_removed", reader))[-1]
        self.assertEqual(list(removed), EVENT_KEYS)
        self.assertIsNone(removed["atr"])
        testbed.cardctl("insert")
        inserted = self.watcher.events_until(("card_inserted", reader))[-1]
        self.assertEqual(inserted["atr"], testbed.manifest()["atr"].lower())
        self.assertRegex(inserted["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(self.watcher.stop(), 0)

    def test_a_remove_and_insert_within_100_ms_gives_both_events(self):
        reader = testbed.reader_name()
        testbed.apdu_log(clear=True)
        # Faster than the monitor is likely to look twice: pcscd's event counter tells.
        # Both commands go down one connection to the card's control socket, so only
        # cardsim's own loop stands between them; its log says how far apart they were.
        removed, inserted = card_socket("remove", "insert")
        self.assertFalse(removed["present"], removed)
        self.assertTrue(inserted["present"], inserted)
        log = testbed.apdu_log()
        times = {kind: [log_time(e["time"]) for e in log if e["event"] == kind]
                 for kind in ("remove", "insert")}
        self.assertEqual([len(times["remove"]), len(times["insert"])], [1, 1], log)
        gap_ms = (times["insert"][0] - times["remove"][0]).total_seconds() * 1000
        # The log's times are cut to the millisecond: the real gap may be 1 ms longer.
        self.assertGreaterEqual(gap_ms, 0, log)
        self.assertLess(gap_ms + 1, 100, log)

        events = self.watcher.events_until(("card_inserted", reader))
        kinds = [e["event"] for e in events if e["reader"] == reader]
        self.assertEqual(kinds[-2:], ["card_removed", "card_inserted"], events)
        self.assertEqual(events[-1]["atr"], testbed.manifest()["atr"].lower())

    def test_a_reset_by_another_program_is_not_taken_for_a_removal(self):
        # pcsc-lite wakes no waiter for a reset (see cactool-watch(1)), so the next event
        # after `cardctl reset` must be the removal that follows it, not a made-up pair.
        reader = testbed.reader_name()
        reset = json.loads(testbed.cardctl("reset").stdout)
        self.assertTrue(reset["ok"], reset)
        self.assertIn("reset", [entry.get("event") for entry in testbed.apdu_log()])
        testbed.cardctl("remove")
        events = self.watcher.events_until(("card_removed", reader))
        self.assertEqual([(e["event"], e["reader"]) for e in events],
                         [("card_removed", reader)])

    def test_sigterm_right_after_an_event_still_ends_watch(self):
        # Just after an event watch is between two waits, where pcsc-lite drops a cancel;
        # a stop signal landing there must still end it with 0.
        reader = testbed.reader_name()
        for round_ in range(6):
            testbed.cardctl("remove" if round_ % 2 == 0 else "insert")
            wanted = "card_removed" if round_ % 2 == 0 else "card_inserted"
            self.watcher.events_until((wanted, reader))
            time.sleep(0.002 * round_)
            self.assertEqual(self.watcher.stop(), 0, "round %d" % round_)
            self.watcher = Watcher()
            time.sleep(0.3)

    def test_pcscd_restart_gives_service_lost_then_restored(self):
        testbed.cardctl("pcscd", "restart")
        events = self.watcher.events_until(("service_restored", None), timeout=20)
        kinds = [e["event"] for e in events]
        self.assertIn("service_lost", kinds)
        self.assertLess(kinds.index("service_lost"), kinds.index("service_restored"))
        # The card comes back as an insertion after the restart.
        self.watcher.events_until(("card_inserted", testbed.reader_name()), timeout=20)

    def test_a_new_reader_is_reported(self):
        out = json.loads(testbed.cardctl("reader", "add").stdout)
        new = [name for name in out["readers"] if name not in out["readers"][:2]]
        self.assertTrue(new, out)
        for name in new:
            self.watcher.events_until(("reader_added", name), timeout=20)


class WaitCard(unittest.TestCase):
    def setUp(self):
        testbed.cardctl("pcscd", "start", check=False)
        testbed.restore_card()

    def test_present_card_exits_0_at_once(self):
        result = testlib.run_cactool(["watch", "--wait-card", "--timeout", "5"],
                                     testlib.clean_env(), timeout=30)
        self.assertEqual(result.rc, 0, result.describe())

    def test_no_card_times_out_with_3_and_insert_gives_0(self):
        testbed.cardctl("remove")
        testbed.cardctl("wait", "absent")
        result = testlib.run_cactool(["watch", "--wait-card", "--timeout", "1"],
                                     testlib.clean_env(), timeout=30)
        self.assertEqual(result.rc, 3, result.describe())
        self.assertIn("no card was present within 1 s", result.stderr)
        # With --json, stdout holds events only (JSON Lines): none came.
        result = testlib.run_cactool(["--json", "watch", "--wait-card", "--timeout", "1"],
                                     testlib.clean_env(), timeout=30)
        self.assertEqual((result.rc, result.stdout), (3, ""), result.describe())

        proc = subprocess.Popen(
            [testlib.cactool_path(), "watch", "--wait-card", "--timeout", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=testlib.clean_env())
        try:
            time.sleep(0.5)
            self.assertIsNone(proc.poll(), "watch --wait-card ended with no card")
            testbed.cardctl("insert")
            self.assertEqual(proc.wait(timeout=20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_exec_runs_per_event_with_the_event_in_its_environment(self):
        env = testlib.clean_env()
        proc = subprocess.Popen(
            [testlib.cactool_path(), "watch", "--json", "--once", "--timeout", "20", "--exec",
             'echo "$CACTOOL_EVENT|$CACTOOL_READER|$CACTOOL_ATR|$CACTOOL_TIME" >&2; exit 1'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            time.sleep(0.5)
            testbed.cardctl("remove")
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        event = json.loads(out)
        self.assertEqual(event["event"], "card_removed")
        line = "card_removed|%s||%s" % (testbed.reader_name(), event["time"])
        self.assertIn(line, err.decode())
        # The command's failure is reported, not fatal.
        self.assertIn("exited 1", err.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
