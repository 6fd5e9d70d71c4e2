#!/usr/bin/python3
"""Recovery under faults: the fault module (tests/testbed/fault/) in front of SoftHSM2.

The expected values come from elsewhere: the certificates pkcs11-tool lists on the token
directly, the fault module's own log of the calls cactool made, the recovery actions the
task assigns to each code (a removed device: reopen the session; a module that lost its
initialisation: initialise it again; a wrong PIN or a login: never repeated), SPEC.md's
exit codes (7: card communication failed after recovery attempts) and the journal format.
Each test also reads the journal back through `errors-report --json` and checks the
counts the faults imply.
"""

import json
import os
import unittest

import base
import softhsm_fixture as sf
import testlib
from base import tearDownModule  # noqa: F401 (removes the fixture's folder)

# SPEC.md, "Exit codes".
EXIT_OK, EXIT_AUTH_FAILED, EXIT_COMMUNICATION = 0, 4, 7


class Recovery(base.FaultModuleTestCase):
    def setUp(self):
        super().setUp()
        self.journal = os.path.join(os.path.dirname(self.fault_config), "journal.jsonl")

    def certs(self, env, *args):
        return self.cactool("--journal", self.journal, "--module", self.fault, "--token",
                            sf.MAIN, "certs", *args, env=env)

    def calls(self, function):
        with open(self.fault_log) as f:
            return [line.split(" ") for line in f if line.split(" ")[1] == function]

    def journal_records(self):
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def report(self):
        return self.json_of(self.cactool("--journal", self.journal, "errors-report", "--json"))

    def expected_certificates(self):
        """(label, id) of every certificate on the token, as pkcs11-tool lists them."""
        objects = testlib.pkcs11_tool_objects(self.hsm.module, sf.MAIN, env=self.hsm.env)
        return sorted((o["label"], o["id"].lower()) for o in objects)

    def listed(self, doc):
        return sorted((c["label"], c["id"]) for c in doc["certificates"])

    def test_a_device_removed_mid_listing_is_recovered_and_nothing_is_listed_twice(self):
        # The third C_GetAttributeValue falls while the certificates are being written:
        # some are out already when the session is lost.
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "call": 3,
                                      "rv": "CKR_DEVICE_REMOVED"}])
        doc = self.json_of(self.certs(env, "--json"))
        self.assertEqual(self.listed(doc), self.expected_certificates())
        self.assertEqual(len(self.calls("C_OpenSession")), 2, "a new session after the loss")

        records = self.journal_records()
        self.assertEqual([(r["kind"], r["code"], r["action"], r["attempt"], r["outcome"])
                          for r in records],
                         [("recovery", "CKR_DEVICE_REMOVED", "reopen_session", 1, "recovered")])
        self.assertEqual(records[0]["subcommand"], "certs")
        totals = self.report()["totals"]
        self.assertEqual((totals["errors"], totals["recovery_attempts"], totals["recovered"]),
                         (0, 1, 1))
        self.assertEqual(totals["recovery_rate"], 1.0)

    def test_text_output_names_each_certificate_once_after_a_recovery(self):
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "call": 3,
                                      "rv": "CKR_DEVICE_REMOVED"}])
        r = self.certs(env)
        self.assertExit(r, EXIT_OK)
        for label, _ in self.expected_certificates():
            lines = [line for line in r.stdout.splitlines() if line.strip() == label.strip()]
            self.assertEqual(len(lines), 1, "%r shown %d times\n%s"
                             % (label, len(lines), r.describe()))

    def test_a_device_that_stays_away_exits_7_after_the_configured_attempts(self):
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "from": 3,
                                      "rv": "CKR_DEVICE_REMOVED"}])
        r = self.certs(env, "--json")
        err = self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertEqual(err["name"], "CKR_DEVICE_REMOVED")
        self.assertTrue(err["recovery"]["attempted"])
        # What was listed before the token went away stays in the same one document.
        listed = self.listed(r.json())
        self.assertTrue(listed, r.describe())
        self.assertLess(set(listed), set(self.expected_certificates()))

        records = self.journal_records()
        attempts = [r for r in records if r["kind"] == "recovery"]
        # The default retry policy (cactool(1), FILES): three attempts.
        self.assertEqual([(r["attempt"], r["outcome"]) for r in attempts],
                         [(1, "failed"), (2, "failed"), (3, "failed")])
        errors = [r for r in records if r["kind"] == "error"]
        self.assertEqual([(r["code"], r["attempt"], r["outcome"]) for r in errors],
                         [("CKR_DEVICE_REMOVED", 3, "gave_up")])
        totals = self.report()["totals"]
        self.assertEqual((totals["errors"], totals["recovery_attempts"], totals["recovered"]),
                         (1, 3, 0))
        self.assertEqual(totals["recovery_rate"], 0.0)

    def test_a_module_that_lost_its_initialisation_is_initialised_again(self):
        env = self.fault_env(faults=[{"function": "C_FindObjectsInit", "call": 1,
                                      "rv": "CKR_CRYPTOKI_NOT_INITIALIZED"}])
        doc = self.json_of(self.certs(env, "--json"))
        self.assertEqual(self.listed(doc), self.expected_certificates())
        self.assertEqual(len(self.calls("C_Initialize")), 2)
        self.assertEqual(len(self.calls("C_Finalize")), 2, "once to start again, once at exit")
        records = self.journal_records()
        self.assertEqual([(r["code"], r["action"], r["outcome"]) for r in records],
                         [("CKR_CRYPTOKI_NOT_INITIALIZED", "reinitialize_module", "recovered")])

    def test_after_a_login_nothing_is_repeated_and_the_login_happens_once(self):
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "call": 3,
                                      "rv": "CKR_DEVICE_REMOVED"}])
        env["CACTOOL_TEST_PIN"] = sf.USER_PIN
        r = self.certs(env, "--json", "--login", "--pin-env", "CACTOOL_TEST_PIN")
        # SPEC.md's exit code for a card that went away; the document says no recovery
        # was attempted.
        err = self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertEqual(err["name"], "CKR_DEVICE_REMOVED")
        self.assertFalse(err["recovery"]["attempted"])
        self.assertEqual(len(self.calls("C_Login")), 1)
        self.assertEqual([r["kind"] for r in self.journal_records()], ["error"])
        self.assertNoSecret(r, sf.USER_PIN)

    def test_a_wrong_pin_is_tried_once(self):
        env = self.fault_env(faults=[{"function": "C_Login", "rv": "CKR_PIN_INCORRECT"}])
        env["CACTOOL_TEST_PIN"] = sf.USER_PIN
        r = self.certs(env, "--json", "--login", "--pin-env", "CACTOOL_TEST_PIN")
        self.assertErrorDocument(r, EXIT_AUTH_FAILED)
        self.assertEqual(len(self.calls("C_Login")), 1)
        self.assertEqual([(r["kind"], r["code"]) for r in self.journal_records()],
                         [("error", "CKR_PIN_INCORRECT")])

    def test_login_answers_are_journaled_though_they_are_not_error_documents(self):
        # A wrong PIN is login's answer ("incorrect", exit 4), yet a failure the journal
        # keeps: the card said no.
        env = self.fault_env(faults=[{"function": "C_Login", "rv": "CKR_PIN_INCORRECT"}])
        env["CACTOOL_TEST_PIN"] = sf.WRONG_PIN
        r = self.cactool("--journal", self.journal, "--module", self.fault, "--token",
                         sf.MAIN, "--json", "login", "--pin-env", "CACTOOL_TEST_PIN", env=env)
        self.assertEqual(self.json_of(r, EXIT_AUTH_FAILED)["result"], "incorrect")
        self.assertEqual([(r["kind"], r["subcommand"], r["code"])
                          for r in self.journal_records()],
                         [("error", "login", "CKR_PIN_INCORRECT")])
        self.assertNoSecret(r, sf.WRONG_PIN)
        with open(self.journal) as f:
            self.assertNotIn(sf.WRONG_PIN, f.read())


if __name__ == "__main__":
    base.main()
