#!/usr/bin/python3
"""cardsim and cardctl against a fake vpcd driver written here, without pcscd.

The fake speaks vsmartcard's vpcd protocol (a 2-byte big-endian length, then the bytes;
a 1-byte message from the driver is a control code) from the driver's side: it listens,
cardsim connects as the card. What the fake sent and received is the witness for what
cardsim must have logged; expected card answers come from the profile files written
here and from ISO/IEC 7816-4 and NIST SP 800-73-4, not from cardsim.

The last test runs cardctl's PC/SC commands on the real bed (tests/testbed/run) and is
skipped when the bed cannot start on this machine.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CARDSIM = os.environ.get("CACTOOL_CARDSIM")
CARDCTL = os.environ.get("CACTOOL_CARDCTL")
RUN = os.environ.get("CACTOOL_TESTBED_RUN")

# NIST SP 800-73-4 part 1, 2.2: the PIV application's AID (with its version bytes).
SELECT_PIV = bytes.fromhex("00A4040009A00000030800001000" + "00")
# An instruction byte neither ISO/IEC 7816-4 nor SP 800-73-4 defines: a card answers 6D00.
UNKNOWN_INS = bytes.fromhex("00020000")

ATR_ONE = "3B F8 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 34 D4"
ATR_TWO = "3B 88 80 01 00 00 00 00 00 00 00 00 09"

GET_ATR, POWER_OFF, POWER_ON, RESET = b"\x04", b"\x00", b"\x01", b"\x02"

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class FakeVpcd:
    """The driver's end: listens on 127.0.0.1 and records every message both ways."""

    def __init__(self, port=0):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.record = []  # ("sent" | "received", bytes)

    def accept(self, timeout=10.0):
        self.listener.settimeout(timeout)
        conn, _ = self.listener.accept()
        conn.settimeout(10.0)
        self.drop_connection()
        self.conn = conn

    def send(self, payload):
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)
        self.record.append(("sent", payload))

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def recv(self, timeout=10.0):
        """The next message, or None when cardsim closed the connection."""
        self.conn.settimeout(timeout)
        try:
            header = self._read(2)
            payload = None if header is None else self._read(int.from_bytes(header, "big"))
        except ConnectionResetError:
            payload = None
        if payload is not None:
            self.record.append(("received", payload))
        return payload

    def exchange(self, payload):
        self.send(payload)
        return self.recv()

    def apdu_pairs(self):
        """(command, response) for every command APDU the fake sent and got answered."""
        pairs = []
        for i, (way, payload) in enumerate(self.record):
            if way == "sent" and len(payload) > 1:
                following = self.record[i + 1:i + 2]
                if following and following[0][0] == "received":
                    pairs.append((payload.hex().upper(), following[0][1].hex().upper()))
        return pairs

    def drop_connection(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def close(self):
        self.drop_connection()
        self.listener.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_profile(folder, name, atr):
    # One P-256 slot keeps start-up fast (no RSA key to generate).
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump({"atr": atr, "slots": {"9c": {"algorithm": "ecc256"}}}, f)
    return path


class Control:
    """One client connection to cardsim's control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)  # blocking: a full backlog waits rather than fails
        self.sock.settimeout(15.0)
        self.buffer = b""

    def send(self, line):
        self.sock.sendall((line if isinstance(line, bytes) else line.encode()) + b"\n")

    def answer(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("cardsim closed the control connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def ask(self, line):
        self.send(line)
        return self.answer()

    def close(self):
        self.sock.close()


@unittest.skipUnless(CARDSIM and os.access(CARDSIM, os.X_OK), "CACTOOL_CARDSIM not set")
class CardsimTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cardsim-test-")
        self.dir = self.tmp.name
        self.export = os.path.join(self.dir, "card")
        self.sock_path = os.path.join(self.dir, "cardsim.sock")
        self.apdu_log = os.path.join(self.dir, "apdu.jsonl")
        self.profile = write_profile(self.dir, "one.json", ATR_ONE)
        self.fake = FakeVpcd()
        self.proc = None
        self.stderr = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.stderr:
            self.stderr.close()
        self.fake.close()
        self.tmp.cleanup()

    def start(self, *extra, accept=True):
        self.stderr = open(os.path.join(self.dir, "cardsim.log"), "w+")
        args = [CARDSIM, "--vpcd-port", str(self.fake.port), "--profile", self.profile,
                "--export", self.export, "--control", self.sock_path,
                "--apdu-log", self.apdu_log, *extra]
        self.proc = subprocess.Popen(args, stdout=self.stderr, stderr=self.stderr)
        if accept:
            self.fake.accept()
        self.wait_for(lambda: os.path.exists(self.sock_path), "the control socket")

    def wait_for(self, condition, what, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return
            if self.proc and self.proc.poll() is not None:
                self.fail(f"cardsim exited ({self.proc.returncode}) waiting for {what}: "
                          + self.log_text())
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def log_text(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def ctl(self, line):
        client = Control(self.sock_path)
        try:
            return client.ask(line)
        finally:
            client.close()

    def ok(self, line):
        answer = self.ctl(line)
        self.assertTrue(answer.get("ok"), f"{line!r}: {answer}")
        return answer

    def entries(self):
        return self.ok("log")["entries"]

    def events(self):
        return [e["event"] for e in self.entries()]

    def select_piv(self):
        response = self.fake.exchange(SELECT_PIV)
        # SP 800-73-4 part 2, 3.1.1: the application property template '61', then 9000.
        self.assertEqual(response[0], 0x61, response.hex())
        self.assertEqual(response[-2:], b"\x90\x00", response.hex())
        return response

    # --- the vpcd side ----------------------------------------------------------------

    def test_atr_is_the_profiles(self):
        self.start()
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))
        with open(os.path.join(self.export, "card.json")) as f:
            self.assertEqual(json.load(f)["atr"].replace(" ", "").upper(),
                             ATR_ONE.replace(" ", ""))
        status = self.ok("status")
        self.assertTrue(status["present"] and status["connected"] and status["atr_requested"])

    def test_apdu_round_trip(self):
        self.start()
        self.fake.send(POWER_ON)
        self.fake.exchange(GET_ATR)
        self.select_piv()
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6d\x00")
        status = self.ok("status")
        self.assertEqual(status["apdus"], 2)
        self.assertTrue(status["powered"])
        for key in ("pin_tries", "puk_tries", "verified"):
            self.assertIn(key, status)

    def test_power_events(self):
        self.start()
        self.fake.send(POWER_ON)
        self.assertTrue(self.ok("status")["powered"])
        self.fake.send(POWER_OFF)
        self.assertFalse(self.ok("status")["powered"])
        self.fake.send(RESET)
        self.assertTrue(self.ok("status")["powered"])
        self.assertEqual([e for e in self.events() if e != "connect"],
                         ["power_on", "power_off", "reset"])

    def test_remove_and_insert(self):
        self.start()
        self.fake.exchange(GET_ATR)
        status = self.ok("remove")
        self.assertFalse(status["present"] or status["connected"])
        self.assertIsNone(self.fake.recv(), "the connection should close on remove")
        # A removed card stays out.
        with self.assertRaises(socket.timeout):
            self.fake.accept(timeout=0.5)
        client = Control(self.sock_path)
        client.send("insert")
        self.fake.accept()
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))
        status = client.answer()
        client.close()
        self.assertTrue(status["ok"] and status["present"] and status["atr_requested"])
        self.assertEqual(self.events(), ["connect", "atr", "remove", "insert", "connect", "atr"])

    def test_reconnects_after_the_reader_restarts(self):
        self.start()
        self.fake.exchange(GET_ATR)
        port = self.fake.port
        self.fake.close()
        self.wait_for(lambda: not self.ctl("status")["connected"], "the lost connection")
        status = self.ok("status")
        self.assertTrue(status["present"])
        self.assertFalse(status["atr_requested"])
        time.sleep(0.5)  # cardsim retries meanwhile
        self.fake = FakeVpcd(port)
        started = time.monotonic()
        self.fake.accept(timeout=5)
        # The retries back off to 200 ms at most.
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))
        self.assertIn("disconnect", self.events())

    def test_delay_answers_later_without_blocking(self):
        self.start()
        self.ok("delay 400 1")
        started = time.monotonic()
        self.fake.send(UNKNOWN_INS)
        # The control socket still answers while the card holds its answer back.
        self.assertTrue(self.ok("status")["present"])
        self.assertLess(time.monotonic() - started, 0.35)
        self.assertEqual(self.fake.recv(), b"\x6d\x00")
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        started = time.monotonic()
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6d\x00")
        self.assertLess(time.monotonic() - started, 0.4, "COUNT 1 delays one answer only")

    def test_delay_without_count_lasts_until_delay_0(self):
        self.start()
        self.ok("delay 200")
        for _ in range(2):
            started = time.monotonic()
            self.fake.exchange(UNKNOWN_INS)
            self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.ok("delay 0")
        started = time.monotonic()
        self.fake.exchange(UNKNOWN_INS)
        self.assertLess(time.monotonic() - started, 0.2)

    def test_messages_wait_behind_a_delayed_answer(self):
        self.start()
        self.ok("delay 300 1")
        self.fake.send(UNKNOWN_INS)
        self.fake.send(GET_ATR)
        self.assertEqual(self.fake.recv(), b"\x6d\x00")
        self.assertEqual(self.fake.recv(), bytes.fromhex(ATR_ONE))

    def test_garbage(self):
        self.start()
        self.ok("garbage")
        self.assertEqual(self.fake.exchange(SELECT_PIV), b"\x6f")
        self.select_piv()
        self.ok("garbage 2")
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6f")
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6f")
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6d\x00")

    def test_drop_closes_without_answer(self):
        self.start()
        self.assertTrue(self.ok("drop")["faults"]["drop"])
        self.fake.exchange(GET_ATR)  # control messages are not dropped
        self.assertIsNone(self.fake.exchange(SELECT_PIV))
        status = self.ok("status")
        self.assertFalse(status["present"] or status["connected"])
        with self.assertRaises(socket.timeout):
            self.fake.accept(timeout=0.5)
        last = self.entries()[-1]
        self.assertEqual((last["event"], last["command"]), ("drop", SELECT_PIV.hex().upper()))

    def test_drop_and_reinsert(self):
        self.start()
        self.ok("drop --reinsert-after 300")
        started = time.monotonic()
        self.assertIsNone(self.fake.exchange(UNKNOWN_INS))
        self.fake.accept(timeout=5)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(self.fake.exchange(UNKNOWN_INS), b"\x6d\x00")
        self.assertEqual(self.events()[-4:], ["drop", "insert", "connect", "apdu"])

    def test_log_matches_what_the_reader_saw(self):
        self.start()
        self.fake.send(POWER_ON)
        atr = self.fake.exchange(GET_ATR)
        self.select_piv()
        self.ok("garbage")
        self.fake.exchange(UNKNOWN_INS)
        self.fake.exchange(bytes.fromhex("00CB3FFF055C035FC102" + "00"))
        entries = self.entries()
        exchanged = [(e["command"], e["response"]) for e in entries
                     if e["event"] in ("apdu", "garbage")]
        self.assertEqual(exchanged, self.fake.apdu_pairs())
        atr_entries = [e for e in entries if e["event"] == "atr"]
        self.assertEqual([e["response"] for e in atr_entries], [atr.hex().upper()])
        self.assertEqual([e["seq"] for e in entries], list(range(1, len(entries) + 1)))
        for e in entries:
            self.assertRegex(e["time"], RFC3339_MS)
        with open(self.apdu_log) as f:
            self.assertEqual([json.loads(line) for line in f], entries)
        self.assertEqual(len(self.ok("log --clear")["entries"]), len(entries))
        self.assertEqual(self.entries(), [])
        self.fake.exchange(UNKNOWN_INS)
        self.assertEqual([e["seq"] for e in self.entries()], [len(entries) + 1])

    def test_presence_polls_are_counted_not_logged(self):
        self.start()
        for _ in range(5):
            self.fake.exchange(GET_ATR)
        self.assertEqual(self.events().count("atr"), 1)
        self.assertEqual(self.ok("status")["atr_requests"], 5)
        self.fake.send(POWER_ON)
        self.fake.exchange(GET_ATR)
        self.assertEqual(self.events().count("atr"), 2)

    def test_profile_swaps_the_card_and_restore_keeps_keys(self):
        self.start()
        self.fake.exchange(GET_ATR)
        with open(os.path.join(self.export, "card.json")) as f:
            before = json.load(f)
        client = Control(self.sock_path)
        client.send("restore")
        self.assertIsNone(self.fake.recv(), "restore takes the card out")
        self.fake.accept()
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))
        self.assertTrue(client.answer()["atr_requested"])
        with open(os.path.join(self.export, "card.json")) as f:
            self.assertEqual(json.load(f)["slots"], before["slots"])
        two = write_profile(self.dir, "two.json", ATR_TWO)
        client.send("profile " + two)
        self.assertIsNone(self.fake.recv())
        self.fake.accept()
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_TWO))
        answer = client.answer()
        client.close()
        self.assertEqual(answer["profile"], two)
        with open(os.path.join(self.export, "card.json")) as f:
            self.assertEqual(json.load(f)["atr"].replace(" ", "").upper(),
                             ATR_TWO.replace(" ", ""))

    def test_a_profile_that_fails_keeps_the_card(self):
        self.start()
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        answer = self.ctl("profile " + bad)
        self.assertFalse(answer["ok"])
        self.assertTrue(self.ok("status")["connected"])
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))

    def test_no_card_then_insert_while_another_client_is_served(self):
        self.start("--no-card", accept=False)
        with self.assertRaises(socket.timeout):
            self.fake.accept(timeout=0.5)
        self.assertFalse(self.ok("status")["present"])
        waiting = Control(self.sock_path)
        waiting.send("insert")
        self.fake.accept()
        # The insert waits for the reader to ask for the ATR; others are answered meanwhile.
        self.assertTrue(self.ok("status")["present"])
        self.fake.exchange(GET_ATR)
        self.assertTrue(waiting.answer()["atr_requested"])
        waiting.close()

    def test_card_reset_from_the_control_socket(self):
        self.start()
        self.ok("reset")
        self.assertIn("card_reset", self.events())

    # --- the control socket's robustness ----------------------------------------------

    def test_bad_control_lines(self):
        self.start()
        bad = ["", "   ", "bogus", "status now", "remove please", "delay", "delay x",
               "delay -1", "delay 5 0", "delay 99999999999999999999999", "delay 1 2 3",
               "garbage 0", "garbage x", "drop 5", "drop --reinsert-after",
               "drop --bogus 5", "log --bogus", "profile",
               "profile " + os.path.join(self.dir, "missing.json"),
               b"\xff\xfe\x00\x01 binary", b"status\x00"]
        client = Control(self.sock_path)
        for line in bad:
            answer = client.ask(line)
            self.assertFalse(answer["ok"], f"{line!r}: {answer}")
            self.assertIsInstance(answer["error"], str)
        answer = client.ask("x" * 10000)
        self.assertEqual(answer, {"ok": False, "error": "line too long"})
        self.assertTrue(client.ask("status")["ok"])
        # Several commands in one write are answered in order.
        client.send("status\nbogus\nstatus")
        self.assertEqual([client.answer()["ok"] for _ in range(3)], [True, False, True])
        client.close()
        self.assertIsNone(self.proc.poll())
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))

    def test_a_client_that_hangs_up_early(self):
        self.start()
        for _ in range(20):
            client = Control(self.sock_path)
            client.send("log")
            client.close()
        self.assertTrue(self.ok("status")["ok"])

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def test_no_spinning_while_an_answer_waits_for_a_client_that_left(self):
        self.start("--no-card", accept=False)
        client = Control(self.sock_path)
        client.send("insert")  # answered only when the fake asks for the ATR: never here
        client.close()
        time.sleep(0.2)
        before = self.cpu_seconds()
        time.sleep(1.5)
        self.assertLess(self.cpu_seconds() - before, 0.3, "cardsim should sleep in poll()")
        half_closed = Control(self.sock_path)
        half_closed.send("status")
        half_closed.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(half_closed.answer()["ok"], "a half-closed client still gets answers")
        half_closed.close()
        self.assertTrue(self.ok("status")["present"])

    # --- start and stop ---------------------------------------------------------------

    def stop_with(self, signum):
        self.start()
        self.proc.send_signal(signum)
        self.assertEqual(self.proc.wait(timeout=5), 0)
        self.assertFalse(os.path.exists(self.sock_path))
        self.assertIsNone(self.fake.recv(), "the card leaves with cardsim")

    def test_sigterm_cleans_up(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint_cleans_up(self):
        self.stop_with(signal.SIGINT)

    def test_quit(self):
        self.start()
        self.assertEqual(self.ctl("quit"), {"ok": True})
        self.assertEqual(self.proc.wait(timeout=5), 0)
        self.assertFalse(os.path.exists(self.sock_path))

    def test_no_reader_at_start(self):
        self.fake.close()
        port = free_port()
        started = time.monotonic()
        result = subprocess.run(
            [CARDSIM, "--vpcd-port", str(port), "--export", self.export, "--control",
             self.sock_path, "--profile", self.profile, "--connect-timeout", "1"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertIn(f"127.0.0.1:{port}", result.stderr)
        self.assertFalse(os.path.exists(self.sock_path))

    def test_bad_profile_at_start(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write("[1, 2")
        result = subprocess.run(
            [CARDSIM, "--vpcd-port", str(self.fake.port), "--export", self.export,
             "--control", self.sock_path, "--profile", bad],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("bad.json", result.stderr)

    def test_usage_errors(self):
        for args in ([], ["--vpcd-port", "0", "--export", "x", "--control", "y"],
                     ["--vpcd-port", "70000", "--export", "x", "--control", "y"],
                     ["--vpcd-port", "5", "--export", "x"], ["--bogus"]):
            result = subprocess.run([CARDSIM, *args], capture_output=True, text=True,
                                    timeout=30)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn("usage", result.stderr)
        result = subprocess.run([CARDSIM, "--bogus"], capture_output=True, text=True, timeout=30)
        self.assertIn("unknown option --bogus", result.stderr)

    def test_vpcd_host_must_be_loopback(self):
        # The test bed sends nothing off the machine: only 127.0.0.0/8 is taken, and any
        # other value is a usage error at once, before any attempt to connect.
        for host in ("::1", "10.0.0.1", "0.0.0.0", "128.0.0.1", "localhost"):
            started = time.monotonic()
            result = subprocess.run(
                [CARDSIM, "--vpcd-host", host, "--vpcd-port", str(self.fake.port),
                 "--export", self.export, "--control", self.sock_path],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 2, f"{host}: {result.stderr}")
            self.assertIn("loopback", result.stderr)
            self.assertLess(time.monotonic() - started, 2)
        self.start("--vpcd-host", "127.0.0.1")
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_ONE))

    # --- cardctl on the control sockets -------------------------------------------------

    def cardctl(self, *args, env_extra=None):
        env = dict(os.environ, CACTOOL_TESTBED_DIR=self.dir,
                   CACTOOL_TESTBED_READER="Virtual PCD 00 00",
                   # Never the machine's pcscd: a socket path where nothing listens.
                   PCSCLITE_CSOCK_NAME=os.path.join(self.dir, "no-pcscd.comm"))
        env.update(env_extra or {})
        return subprocess.run([CARDCTL, *args], capture_output=True, text=True, env=env,
                              timeout=60)

    @unittest.skipUnless(CARDCTL and os.access(CARDCTL, os.X_OK), "CACTOOL_CARDCTL not set")
    def test_cardctl_card_commands(self):
        self.start()
        result = self.cardctl("status")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(json.loads(result.stdout)["present"])
        self.assertEqual(self.cardctl("garbage", "2").returncode, 0)
        self.assertEqual(self.ctl("status")["faults"]["garbage"], 2)
        self.assertEqual(self.cardctl("delay", "100", "3").returncode, 0)
        self.assertEqual(self.ctl("status")["faults"]["delay_count"], 3)
        self.fake.exchange(GET_ATR)
        self.fake.exchange(UNKNOWN_INS)
        result = self.cardctl("log")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(lines, self.ctl("log")["entries"])
        self.assertEqual([e["event"] for e in lines], ["connect", "atr", "garbage"])
        result = self.cardctl("remove")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(json.loads(result.stdout)["present"])
        # A relative profile path is the caller's, not cardsim's.
        two = write_profile(self.dir, "two.json", ATR_TWO)
        done = {}
        worker = threading.Thread(target=lambda: done.update(
            r=subprocess.run([CARDCTL, "profile", "two.json"], capture_output=True,
                             text=True, cwd=self.dir, timeout=60,
                             env=dict(os.environ, CACTOOL_TESTBED_DIR=self.dir))))
        worker.start()
        self.fake.accept()
        self.assertEqual(self.fake.exchange(GET_ATR), bytes.fromhex(ATR_TWO))
        worker.join(30)
        self.assertEqual(done["r"].returncode, 0, done["r"].stderr)
        self.assertEqual(json.loads(done["r"].stdout)["profile"], two)

    @unittest.skipUnless(CARDCTL and os.access(CARDCTL, os.X_OK), "CACTOOL_CARDCTL not set")
    def test_cardctl_exit_codes(self):
        self.start()
        for args in ([], ["bogus"], ["delay"], ["delay", "x"], ["delay", "1", "2", "3"],
                     ["garbage", "0"], ["drop", "--bogus"], ["log", "--all"], ["profile"],
                     ["wait"], ["wait", "soon"], ["wait", "present", "--timeout", "x"],
                     ["pcscd"], ["pcscd", "explode"], ["reader", "twice"], ["status", "x"]):
            result = self.cardctl(*args)
            self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
            self.assertTrue(result.stderr.strip(), args)
        # The range the usage states must not include what was just refused.
        for seconds in ("0", "3601", "inf", "nan"):
            result = self.cardctl("wait", "present", "--timeout", seconds)
            self.assertEqual(result.returncode, 2, f"{seconds}: {result.stderr}")
            self.assertIn("S above 0, at most 3600", result.stderr)
        result = self.cardctl("profile", os.path.join(self.dir, "missing.json"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("missing.json", result.stderr)
        # No bed at all.
        result = self.cardctl("status", env_extra={"CACTOOL_TESTBED_DIR": ""})
        self.assertEqual(result.returncode, 1)
        self.assertIn("CACTOOL_TESTBED_DIR", result.stderr)
        result = self.cardctl("status", env_extra={
            "CACTOOL_TESTBED_DIR": os.path.join(self.dir, "nowhere")})
        self.assertEqual(result.returncode, 1)
        self.assertIn("cardsim.sock", result.stderr)

    @unittest.skipUnless(CARDCTL and os.access(CARDCTL, os.X_OK), "CACTOOL_CARDCTL not set")
    def test_cardctl_pcsc_commands_without_pcscd(self):
        started = time.monotonic()
        result = self.cardctl("wait", "present", "--timeout", "1")
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        result = self.cardctl("reset")
        self.assertEqual(result.returncode, 1)
        self.assertIn("SCARD_E_NO_SERVICE", result.stderr)

    @unittest.skipUnless(CARDCTL and os.access(CARDCTL, os.X_OK), "CACTOOL_CARDCTL not set")
    def test_cardctl_forwards_bed_commands_to_the_harness(self):
        path = os.path.join(self.dir, "harness.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        server.settimeout(30)
        received = []

        def serve():
            conn, _ = server.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    data += conn.recv(1024)
                received.append(data.decode())
                conn.sendall(b'{"ok": true, "pcscd": "restarted"}\n')

        for args, line in ((["pcscd", "restart"], "pcscd restart\n"),
                           (["reader", "add"], "reader add\n")):
            worker = threading.Thread(target=serve)
            worker.start()
            result = self.cardctl(*args)
            worker.join(30)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(received.pop(), line)
            self.assertEqual(json.loads(result.stdout), {"ok": True, "pcscd": "restarted"})
        server.close()


def bed_available():
    if not (RUN and CARDCTL and os.access(RUN, os.X_OK)):
        return False, "CACTOOL_TESTBED_RUN or CACTOOL_CARDCTL not set"
    probe = subprocess.run([RUN, "--timeout", "20", "--", "true"], capture_output=True,
                           text=True, timeout=120)
    if probe.returncode != 0:
        return False, f"the bed does not start here ({probe.returncode}): {probe.stderr[-300:]}"
    return True, ""


# A PC/SC client (libpcsclite through ctypes) that runs inside the bed: it holds a handle
# to the card while cardctl injects faults, and reports what each SCardTransmit returned.
PCSC_CLIENT = r"""
import ctypes, json, os, subprocess, sys, time
lib = ctypes.CDLL("libpcsclite.so.1")
DWORD, LONG = ctypes.c_ulong, ctypes.c_long
for name in ("SCardEstablishContext", "SCardConnect", "SCardReconnect", "SCardTransmit"):
    getattr(lib, name).restype = LONG
class IoRequest(ctypes.Structure):
    _fields_ = [("dwProtocol", DWORD), ("cbPciLength", DWORD)]
SCOPE_SYSTEM, SHARE_SHARED, T0_OR_T1, LEAVE_CARD = 2, 2, 3, 0
ctx, handle, protocol = LONG(), LONG(), DWORD()
assert lib.SCardEstablishContext(DWORD(SCOPE_SYSTEM), None, None, ctypes.byref(ctx)) == 0
reader = os.environ["CACTOOL_TESTBED_READER"].encode()
assert lib.SCardConnect(ctx, reader, DWORD(SHARE_SHARED), DWORD(T0_OR_T1),
                        ctypes.byref(handle), ctypes.byref(protocol)) == 0
def transmit():
    apdu = bytes.fromhex(sys.argv[1])
    pci = IoRequest(protocol.value, ctypes.sizeof(IoRequest))
    answer, length = (ctypes.c_ubyte * 65538)(), DWORD(65538)
    command = (ctypes.c_ubyte * len(apdu)).from_buffer_copy(apdu)
    rv = lib.SCardTransmit(handle, ctypes.byref(pci), command, DWORD(len(apdu)), None,
                           answer, ctypes.byref(length))
    return [rv & 0xFFFFFFFF, bytes(answer[:length.value]).hex().upper()]
def cardctl(*args):
    return subprocess.run([os.environ["CACTOOL_CARDCTL"], *args], capture_output=True).returncode
seen = {"select": transmit(), "reset": cardctl("reset")}
seen["after_reset"] = transmit()
seen["reconnect"] = lib.SCardReconnect(handle, DWORD(SHARE_SHARED), DWORD(T0_OR_T1),
                                       DWORD(LEAVE_CARD), ctypes.byref(protocol)) & 0xFFFFFFFF
seen["after_reconnect"] = transmit()
seen["garbage"] = (cardctl("garbage"), transmit())
cardctl("delay", "500", "1")
started = time.monotonic()
seen["delayed"] = transmit()
seen["delay_s"] = time.monotonic() - started
seen["drop"] = (cardctl("drop"), transmit())
seen["wait_absent"] = cardctl("wait", "absent", "--timeout", "10")
seen["after_drop"] = transmit()
print(json.dumps(seen))
"""

SCARD_W_RESET_CARD = 0x80100068
SCARD_W_REMOVED_CARD = 0x80100069


@unittest.skipUnless(CARDCTL and RUN, "the bed is not configured")
class OnTheBedTest(unittest.TestCase):
    """cardctl's PC/SC commands and the faults, with the real pcscd and vpcd driver."""

    @classmethod
    def setUpClass(cls):
        ok, why = bed_available()
        if not ok:
            raise unittest.SkipTest(why)

    def test_remove_insert_reset_as_pcsc_sees_them(self):
        script = ("set -e; $CACTOOL_CARDCTL status; $CACTOOL_CARDCTL remove; "
                  "$CACTOOL_CARDCTL wait absent --timeout 10; $CACTOOL_CARDCTL insert; "
                  "$CACTOOL_CARDCTL wait present --timeout 10; $CACTOOL_CARDCTL reset; "
                  "opensc-tool -l")
        result = subprocess.run([RUN, "--", "sh", "-c", script], capture_output=True,
                                text=True, timeout=180)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        # opensc-tool -l lists the reader with the card in it ("Yes" in the Card column).
        self.assertRegex(result.stdout, r"Yes\s+Virtual PCD 00 00")

    def test_faults_as_a_pcsc_client_sees_them(self):
        with tempfile.TemporaryDirectory(prefix="cardsim-bed-") as folder:
            client = os.path.join(folder, "client.py")
            with open(client, "w") as f:
                f.write(PCSC_CLIENT)
            result = subprocess.run([RUN, "--", sys.executable, client, SELECT_PIV.hex()],
                                    capture_output=True, text=True, timeout=180)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        ok, select_answer = seen["select"]
        self.assertEqual((ok, select_answer[:2], select_answer[-4:]), (0, "61", "9000"))
        self.assertEqual(seen["reset"], 0)
        # Another client's reset shows on this handle as on a real card.
        self.assertEqual(seen["after_reset"], [SCARD_W_RESET_CARD, ""])
        self.assertEqual(seen["reconnect"], 0)
        self.assertEqual(seen["after_reconnect"], [0, select_answer])
        self.assertEqual(seen["garbage"], [0, [0, "6F"]])
        self.assertEqual(seen["delayed"], [0, select_answer])
        self.assertGreaterEqual(seen["delay_s"], 0.5)
        # The driver reads the closed connection as an answer of no bytes; the card is gone
        # from the next call on.
        self.assertEqual(seen["drop"], [0, [0, ""]])
        self.assertEqual(seen["wait_absent"], 0)
        self.assertEqual(seen["after_drop"][0], SCARD_W_REMOVED_CARD)

    def test_card_comes_back_after_pcscd_restarts(self):
        script = ("set -e; $CACTOOL_CARDCTL pcscd stop; sleep 0.5; $CACTOOL_CARDCTL status; "
                  "$CACTOOL_CARDCTL pcscd start; $CACTOOL_CARDCTL wait present --timeout 10; "
                  "opensc-tool -l; $CACTOOL_CARDCTL log")
        result = subprocess.run([RUN, "--", "sh", "-c", script], capture_output=True,
                                text=True, timeout=180)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        # While pcscd is away the card is still in the reader but not connected.
        status = json.loads(lines[1])
        self.assertEqual((status["present"], status["connected"]), (True, False))
        self.assertRegex(result.stdout, r"Yes\s+Virtual PCD 00 00")
        objects = [json.loads(line) for line in lines if line.startswith("{")]
        events = [o["event"] for o in objects if "event" in o]
        after = events[events.index("disconnect"):]
        self.assertIn("connect", after)
        self.assertIn("atr", after[after.index("connect"):])

    def test_wait_times_out_with_3(self):
        result = subprocess.run(
            [RUN, "--", "sh", "-c", "$CACTOOL_CARDCTL wait absent --timeout 1"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 3, result.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + ["-v"] + sys.argv[1:])
