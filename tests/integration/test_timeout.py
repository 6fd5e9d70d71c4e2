#!/usr/bin/python3
"""--timeout bounds a run stuck inside a PKCS#11 call (the fault module delays it).

The delays are set in the fault module's configuration and its call log says which call
was held back; SPEC.md gives the exit codes (7: card communication failed) and the JSON
keys; the journal format is src/core/recovery/journal.hpp's. The delays are many times
longer than the bound, so a run that was not cut short could not pass, however slow the
machine.
"""

import json
import os
import subprocess
import time
import unittest

import base
import softhsm_fixture as sf
import testlib
from base import tearDownModule  # noqa: F401 (removes the fixture's folder)

EXIT_OK, EXIT_COMMUNICATION, EXIT_DIAG_FAILED = 0, 7, 8
# Longer than any bound below plus the watchdog's margin, many times over.
STUCK_MS = 40000


class Timeout(base.FaultModuleTestCase):
    def setUp(self):
        super().setUp()
        self.journal = os.path.join(os.path.dirname(self.fault_config), "journal.jsonl")

    def run_timed(self, env, *args, input_bytes=None):
        start = time.monotonic()
        r = self.cactool("--journal", self.journal, "--module", self.fault, "--token", sf.MAIN,
                         *args, env=env, input_bytes=input_bytes)
        return r, time.monotonic() - start

    def journal_records(self):
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def logged_calls(self, function):
        """The calls of `function` the fault module's log shows as returned."""
        with open(self.fault_log) as f:
            return [line for line in f if line.split(" ")[1] == function]

    def test_a_listing_stuck_in_the_module_ends_at_the_bound_with_exit_7(self):
        env = self.fault_env(faults=[{"function": "C_FindObjects", "delay_ms": STUCK_MS}])
        r, took = self.run_timed(env, "--json", "--timeout", "1", "certs")
        err = self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertLess(took, STUCK_MS / 1000 / 2, "the run was not cut short")
        self.assertEqual(err["name"], "CACTOOL_TIMEOUT")
        self.assertEqual(err["category"], "communication")
        self.assertIn("C_FindObjects", err["message"])
        self.assertIn("--timeout", err["message"])
        # The fault module logs a call when it returns: the process ended inside it.
        self.assertEqual(self.logged_calls("C_FindObjects"), [])
        self.assertTrue(self.logged_calls("C_GetSlotList"), "the run never reached the module")

        records = self.journal_records()
        self.assertEqual([(x["kind"], x["code"], x["category"]) for x in records],
                         [("error", "CACTOOL_TIMEOUT", "communication")])
        report = self.json_of(self.cactool("--journal", self.journal, "errors-report", "--json"))
        self.assertEqual(report["totals"]["errors"], 1)

    def test_text_mode_names_the_call_and_the_source_of_the_bound(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotList", "from": 2,
                                      "delay_ms": STUCK_MS}])
        env["CAC_CARD_TIMEOUT"] = "1"
        r, took = self.run_timed(env, "slots")
        self.assertExit(r, EXIT_COMMUNICATION)
        self.assertLess(took, STUCK_MS / 1000 / 2)
        self.assertIn("C_GetSlotList", r.stderr)
        self.assertIn("CAC_CARD_TIMEOUT", r.stderr)
        self.assertIn("hint:", r.stderr)

    def test_a_pin_verification_is_waited_for_and_its_answer_reported(self):
        # The card counts a verification whatever happens to the process: its answer is
        # worth more than the bound. 4 s against a 1 s bound, well inside the allowance.
        env = self.fault_env(faults=[{"function": "C_Login", "delay_ms": 4000}])
        env["CACTOOL_TEST_PIN"] = sf.USER_PIN
        r, took = self.run_timed(env, "--json", "--timeout", "1", "login", "--pin-env",
                                 "CACTOOL_TEST_PIN")
        doc = self.json_of(r, EXIT_OK)
        self.assertGreaterEqual(took, 4.0)
        self.assertEqual(doc["result"], "ok", r.describe())
        self.assertEqual(len(self.logged_calls("C_Login")), 1)
        self.assertNotIn("CACTOOL_TIMEOUT", [x["code"] for x in self.journal_records()])
        self.assertNoSecret(r, sf.USER_PIN)

    def test_time_waiting_for_the_pin_does_not_count(self):
        # The PIN arrives on stdin 3 s after the start, three times the bound.
        env = self.fault_env(faults=[])
        proc = subprocess.Popen(
            [testlib.cactool_path(), "--json", "--journal", self.journal, "--module",
             self.fault, "--token", sf.MAIN, "--timeout", "1", "login", "--pin-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            time.sleep(3)
            out, err = proc.communicate((sf.USER_PIN + "\n").encode(), timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, EXIT_OK, err.decode())
        self.assertEqual(json.loads(out)["result"], "ok")

    def run_diag(self, env, *args):
        return self.run_diag_with(env, list(args), [])

    def run_diag_with(self, env, global_args, diag_args):
        # No pcscd here: a socket name of our own, so the machine's pcscd is never asked.
        env = dict(env, PCSCLITE_CSOCK_NAME=os.path.join(os.path.dirname(self.fault_config),
                                                         "no-pcscd.comm"))
        start = time.monotonic()
        r = self.cactool("--journal", self.journal, "--module", self.fault, *global_args, "diag",
                         *diag_args, env=env)
        return r, time.monotonic() - start

    def test_diag_reports_a_module_stuck_in_c_initialize_as_its_failed_check(self):
        # The finished checks and the stuck one are the diagnosis: none of it is lost to
        # the bound, and the checks that needed the module say why they did not run.
        env = self.fault_env(faults=[{"function": "C_Initialize", "delay_ms": STUCK_MS}])
        r, took = self.run_diag(env, "--json", "--timeout", "1")
        doc = self.json_of(r, EXIT_DIAG_FAILED)
        self.assertLess(took, STUCK_MS / 1000 / 2, "the run was not cut short")
        self.assertNotIn("error", doc)
        checks = {c["id"]: c for c in doc["checks"]}
        self.assertEqual(checks["pcscd"]["status"], "fail")  # no pcscd in this test
        module = checks["module"]
        self.assertEqual(module["status"], "fail")
        self.assertIn("C_Initialize", module["message"])
        self.assertIn("1 s, from --timeout", module["message"])
        self.assertIn("module", module["hint"])
        for later in ("token", "pin_status", "certificates"):
            self.assertEqual(checks[later]["status"], "skip", later)
            self.assertIn("module check never finished", checks[later]["message"])
        self.assertEqual(checks["journal"]["status"], "pass")
        # Not asked for (--sign-test): not even a skip.
        self.assertNotIn("login", checks)
        counted = {s: sum(c["status"] == s for c in doc["checks"])
                   for s in ("pass", "warn", "fail", "skip")}
        self.assertEqual(doc["summary"], counted)
        # The fault module logs a call when it returns: the run ended inside C_Initialize.
        self.assertEqual(self.logged_calls("C_Initialize"), [])
        self.assertEqual([(x["kind"], x["code"]) for x in self.journal_records()],
                         [("error", "CACTOOL_TIMEOUT")])

    def test_diag_bounds_the_module_closing_too(self):
        # C_Finalize comes after every check; stuck there, the run used to print its
        # report and then wait for the module as long as the module liked.
        env = self.fault_env(faults=[{"function": "C_Finalize", "delay_ms": STUCK_MS}])
        r, took = self.run_diag(env, "--json", "--timeout", "2")
        doc = self.json_of(r, EXIT_DIAG_FAILED)
        self.assertLess(took, STUCK_MS / 1000 / 2, "the run was not cut short")
        module = [c for c in doc["checks"] if c["id"] == "module" and c["status"] == "fail"]
        self.assertEqual(len(module), 1, doc)
        self.assertIn("C_Finalize", module[0]["message"])
        # Every check before it ran to its end: the token's certificates were listed.
        self.assertIn("pass", [c["status"] for c in doc["checks"] if c["id"] == "certificates"])
        self.assertTrue(self.logged_calls("C_FindObjects"))
        self.assertEqual(doc["checks"][-1]["id"], "journal")
        self.assertEqual(self.logged_calls("C_Finalize"), [])

    def test_diag_names_a_signature_stuck_in_c_sign_as_the_signature_failing(self):
        env = self.fault_env(faults=[{"function": "C_Sign", "delay_ms": STUCK_MS}])
        env["CACTOOL_TEST_PIN"] = sf.USER_PIN
        r, took = self.run_diag_with(env, ["--json", "--timeout", "2", "--token", sf.MAIN],
                                     ["--sign-test", "--pin-env", "CACTOOL_TEST_PIN"])
        doc = self.json_of(r, EXIT_DIAG_FAILED)
        self.assertLess(took, STUCK_MS / 1000 / 2, "the run was not cut short")
        self.assertEqual([c["status"] for c in doc["checks"] if c["id"] == "login"], ["pass"])
        stuck = [c for c in doc["checks"] if c["id"] == "signature"]
        self.assertEqual([c["status"] for c in stuck], ["fail"], doc)
        self.assertIn("C_Sign", stuck[0]["message"])
        self.assertNoSecret(r, sf.USER_PIN)

    def test_diag_waits_for_a_pin_verification_and_reports_it(self):
        # C_Login answers 3 s late against a 1 s bound: the card has counted the try, so
        # its answer is waited for and reported, not cut short as a stuck call.
        env = self.fault_env(faults=[{"function": "C_Login", "delay_ms": 3000}])
        env["CACTOOL_TEST_PIN"] = sf.USER_PIN
        r, took = self.run_diag_with(env, ["--json", "--timeout", "1", "--token", sf.MAIN],
                                     ["--sign-test", "--pin-env", "CACTOOL_TEST_PIN"])
        doc = json.loads(r.stdout)
        self.assertGreaterEqual(took, 3.0)
        self.assertEqual([c["status"] for c in doc["checks"] if c["id"] == "login"], ["pass"],
                         r.describe())
        self.assertEqual(len(self.logged_calls("C_Login")), 1)
        self.assertNoSecret(r, sf.USER_PIN)

    def test_diag_in_text_keeps_the_checks_done_before_a_stuck_call(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotList", "delay_ms": STUCK_MS}])
        env["CAC_CARD_TIMEOUT"] = "1"
        r, took = self.run_diag(env)
        self.assertExit(r, EXIT_DIAG_FAILED)
        self.assertLess(took, STUCK_MS / 1000 / 2)
        lines = r.stdout.splitlines()
        self.assertTrue(any(line.startswith("fail") and "pcscd" in line for line in lines))
        token = [line for line in lines if line.split()[1:2] == ["token"]]
        self.assertEqual(len(token), 1, r.describe())
        self.assertTrue(token[0].startswith("fail"))
        self.assertIn("C_GetSlotList", token[0])
        self.assertIn("CAC_CARD_TIMEOUT", token[0])
        self.assertTrue(lines[-1].endswith("skipped"), r.describe())
        self.assertNotIn("error", r.stderr)

    def test_a_run_within_the_bound_is_untouched(self):
        env = self.fault_env(faults=[{"function": "C_FindObjects", "delay_ms": 200}])
        r, _ = self.run_timed(env, "--json", "--timeout", "5", "certs")
        doc = self.json_of(r, EXIT_OK)
        self.assertNotIn("error", doc)
        self.assertEqual(self.journal_records(), [])


if __name__ == "__main__":
    base.main()
