#!/usr/bin/python3
"""The fault module (tests/testbed/fault/) in front of SoftHSM2, and cactool through it.

Each knob of the module is shown to work with a client that is not cactool (pkcs11-tool,
p11tool, or the PKCS#11 calls made here through ctypes), and cactool's answer under the
same fault is checked against what that client shows, what PKCS#11 says, and the exit
codes of SPEC.md. The module's call log says how often cactool called each function.
"""

import ctypes
import json
import os
import subprocess
import sys
import time
import unittest

import base
import softhsm_fixture as sf
import testlib
from base import tearDownModule  # noqa: F401 (removes the fixture's folder)

# PKCS#11 v2.40 section 3.2 (token flags) and 5.1 (return values).
CKF_LOGIN_REQUIRED = 0x4
CKF_USER_PIN_COUNT_LOW = 0x10000
CKF_USER_PIN_FINAL_TRY = 0x20000
CKR_ARGUMENTS_BAD = 0x7

# SPEC.md, "Exit codes".
EXIT_FAILED, EXIT_MIDDLEWARE, EXIT_COMMUNICATION = 1, 6, 7


class Call:
    """One line of the fault module's log."""

    def __init__(self, line):
        pid, self.function, call, self.rv, self.how, delay = line.split(" ")
        self.pid, self.call, self.delay_ms = int(pid), int(call), int(delay)

    def __repr__(self):
        return "%s#%d %s %s" % (self.function, self.call, self.rv, self.how)


class FaultModuleTestCase(base.FaultModuleTestCase):
    def calls(self, function=None):
        with open(self.fault_log) as f:
            calls = [Call(line.rstrip("\n")) for line in f if line.strip()]
        return [c for c in calls if function is None or c.function == function]

    def slots(self, env, *args, code=0):
        return self.json_of(self.cactool("slots", "--module", self.fault, "--json", *args,
                                         env=env), code)

    def slot_of(self, doc, slot_id):
        return next(s for s in doc["modules"][0]["slots"] if s["id"] == slot_id)

    def main_slot(self):
        return self.hsm.tokens[sf.MAIN]["slot_id"]


class ForwardingTest(FaultModuleTestCase):
    def test_without_faults_clients_see_the_real_module(self):
        env = self.fault_env()
        real = testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)
        through = testlib.pkcs11_tool_slots(self.fault, env=env)
        self.assertEqual(through, real)
        doc = self.slots(env)
        self.assertEqual([s["id"] for s in doc["modules"][0]["slots"]], [s["id"] for s in real])
        calls = self.calls()
        self.assertTrue(calls)
        self.assertEqual({(c.rv, c.how) for c in calls}, {("CKR_OK", "forwarded")}, calls)

    def test_pkcs11_tool_takes_the_interface_and_still_calls_through_it(self):
        env = self.fault_env()
        testlib.pkcs11_tool_slots(self.fault, env=env)
        functions = [c.function for c in self.calls()]
        # pkcs11-tool 0.23 asks for C_GetInterface first when a module exports it.
        self.assertEqual(functions[0], "C_GetInterface")
        self.assertIn("C_GetTokenInfo", functions)
        self.assertNotIn("C_GetFunctionList", functions)

    def test_interface_functions_offer_the_2_40_list(self):
        env = self.fault_env()
        got = run_probe("interfaces", self.fault, env)
        # PKCS#11 3.0 section 5.4: one interface here, named "PKCS 11", with the same
        # function list as C_GetFunctionList; other names and versions are refused.
        self.assertEqual(got["list_rv"], [0, 0])
        self.assertEqual(got["names"], ["PKCS 11"])
        self.assertEqual(got["default_rv"], 0)
        self.assertEqual(got["default_list"], got["function_list"])
        self.assertEqual(got["version"], [2, 40])
        self.assertEqual(got["v3_rv"], CKR_ARGUMENTS_BAD)
        self.assertEqual(got["vendor_rv"], CKR_ARGUMENTS_BAD)

    def test_configuration_is_read_again_on_c_initialize(self):
        env = self.fault_env(token_info=[{"label": "first configuration"}])
        second = dict(module=self.hsm.module, token_info=[{"label": "second configuration"}])
        got = run_probe("reread", self.fault, env, json.dumps(second))
        self.assertEqual(got["labels"], ["first configuration", "second configuration"])


class FailureTest(FaultModuleTestCase):
    def test_device_error_on_the_slot_list_exits_with_the_communication_code(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotList", "rv": "CKR_DEVICE_ERROR"}])
        err = self.assertErrorDocument(
            self.cactool("slots", "--module", self.fault, "--json", env=env),
            EXIT_COMMUNICATION)
        self.assertEqual((err["name"], err["code"]), ("CKR_DEVICE_ERROR", 0x30))
        calls = self.calls("C_GetSlotList")
        self.assertTrue(calls)
        self.assertTrue(all(c.how == "injected" for c in calls), calls)
        r = subprocess.run(["pkcs11-tool", "--module", self.fault, "-L"], env=env,
                           capture_output=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, "pkcs11-tool fails on the same fault")

    def test_a_failing_login_is_never_repeated(self):
        cases = [("before", "CKR_DEVICE_ERROR", "injected"),
                 ("after", "CKR_DEVICE_REMOVED", "after")]
        for when, rv, how in cases:
            with self.subTest(when=when):
                env = self.fault_env(faults=[{"function": "C_Login", "rv": rv, "when": when}])
                r = self.cactool("login", "--module", self.fault, "--token", sf.PIN_TOKEN,
                                 "--pin-stdin", "--json", env=env,
                                 input_bytes=(self.hsm.user_pin + "\n").encode())
                self.assertEqual(self.assertErrorDocument(r, r.rc)["name"], rv)
                self.assertNotEqual(r.rc, 0, r.describe())
                self.assertEqual([(c.rv, c.how) for c in self.calls("C_Login")], [(rv, how)])

    def test_a_failure_on_chosen_calls_only(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotInfo", "calls": [2, 3],
                                      "rv": "CKR_DEVICE_ERROR"}])
        doc = self.slots(env)
        listed = doc["modules"][0]["slots"]
        order = [c.call for c in self.calls("C_GetSlotInfo")]
        self.assertEqual(order[:len(listed)], list(range(1, len(listed) + 1)))
        # Calls 2 and 3 are about the second and third slot listed: those two carry the
        # error, and no slot is hidden by them.
        errors = [(s["error"] or {}).get("name") for s in listed]
        self.assertEqual(errors, [None, "CKR_DEVICE_ERROR", "CKR_DEVICE_ERROR"] +
                         [None] * (len(listed) - 3))
        injected = [c.call for c in self.calls("C_GetSlotInfo") if c.how == "injected"]
        self.assertEqual(injected, [2, 3])

    def test_a_delay_holds_the_call(self):
        env = self.fault_env(faults=[{"function": "C_GetInfo", "call": 1, "delay_ms": 600}])
        start = time.monotonic()
        self.slots(env)
        self.assertGreaterEqual(time.monotonic() - start, 0.6)
        self.assertEqual([(c.rv, c.how, c.delay_ms) for c in self.calls("C_GetInfo")],
                         [("CKR_OK", "forwarded", 600)])

    def test_an_unusable_configuration_fails_loading_the_module(self):
        oversized = '{"module": "x"}' + " " * (64 * 1024)
        cases = [("unknown key", json.dumps({"module": self.hsm.module, "fautls": []})),
                 ("unknown return value", json.dumps({
                     "module": self.hsm.module,
                     "faults": [{"function": "C_Login", "rv": "CKR_OOPS"}]})),
                 ("larger than", oversized),
                 ("not valid JSON", '{"module": ')]
        for reason, text in cases:
            with self.subTest(reason=reason):
                env = self.fault_env()
                with open(self.fault_config, "w") as f:
                    f.write(text)
                r = self.cactool("slots", "--module", self.fault, "--json", env=env)
                self.assertErrorDocument(r, EXIT_MIDDLEWARE)
                self.assertIn("cactool fault module: ", r.stderr)
                self.assertIn(reason, r.stderr)
                self.assertEqual([(c.function, c.call, c.rv, c.how) for c in self.calls()],
                                 [("C_GetFunctionList", 0, "CKR_GENERAL_ERROR", "config-error")])


class RewriteTest(FaultModuleTestCase):
    def test_an_independent_client_sees_the_rewritten_token_fields(self):
        slot = self.main_slot()
        env = self.fault_env(token_info=[{
            "slot": slot, "label": "rewritten label", "manufacturerID": "Fault Inc.",
            "model": "Model F", "serialNumber": {"text": "F00D", "padding": "left"}}])
        tool = next(s for s in testlib.pkcs11_tool_slots(self.fault, env=env) if s["id"] == slot)
        self.assertEqual(tool["token"]["label_raw"].rstrip(), "rewritten label")
        self.assertEqual((tool["token"]["manufacturer"], tool["token"]["model"],
                          tool["token"]["serial"]), ("Fault Inc.", "Model F", "F00D"))
        token = self.slot_of(self.slots(env), slot)["token"]
        self.assertEqual((token["label"], token["manufacturer"], token["model"],
                          token["serial"]),
                         ("rewritten label", "Fault Inc.", "Model F", "F00D"))

    def test_padding_variants_show_the_label_trimmed(self):
        # (field as configured, the label as shown: the bytes decoded as UTF-8 with invalid
        # ones replaced, without the padding on either side)
        full = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
        invalid = bytes.fromhex("c328414220ff")
        cases = [({"text": "right padded", "padding": "right"}, "right padded"),
                 ({"text": "left padded", "padding": "left"}, "left padded"),
                 ({"text": "nul padded", "padding": "nul"}, "nul padded"),
                 ({"text": full, "padding": "none"}, full),
                 ({"hex": invalid.hex(), "padding": "nul"},
                  invalid.decode("utf-8", "replace").strip())]
        slot = self.main_slot()
        for field, shown in cases:
            with self.subTest(field=field):
                env = self.fault_env(token_info=[{"slot": slot, "label": field}])
                token = self.slot_of(self.slots(env), slot)["token"]
                self.assertEqual(token["label"], shown)
                if "hex" not in field:
                    tool = testlib.pkcs11_tool_slots(self.fault, env=env)
                    raw = next(s for s in tool if s["id"] == slot)["token"]["label_raw"]
                    self.assertEqual(raw.strip(" "), shown, "pkcs11-tool shows it so")
                    doc = self.slots(env, "--token", shown)
                    self.assertEqual([s["id"] for s in doc["modules"][0]["slots"]], [slot])

    def test_left_padded_label_gives_the_uri_p11tool_gives(self):
        if testlib.require_tools("p11tool"):
            self.skipTest("p11tool (gnutls-bin) is not installed")
        slot = self.main_slot()
        env = self.fault_env(token_info=[{"slot": slot, "label": {"padding": "left"}}])
        token = self.slot_of(self.slots(env), slot)["token"]
        urls = [t.get("URL", "") for t in testlib.p11tool_tokens(self.fault, env=env)]
        self.assertIn(token["uri"], urls)
        doc = self.json_of(self.cactool("certs", "--module", self.fault, "--token",
                                        token["uri"], "--json", env=env))
        self.assertEqual(len(doc["certificates"]), len(self.hsm.certs_on(sf.MAIN)))

    def test_slot_text_fields_show_trimmed(self):
        env = self.fault_env(slot_info=[{
            "slotDescription": {"text": "Reader on the left", "padding": "left"},
            "manufacturerID": {"text": "Maker", "padding": "nul"}}])
        tool = testlib.pkcs11_tool_slots(self.fault, env=env)
        self.assertEqual({s["description"] for s in tool}, {"Reader on the left"})
        for slot in self.slots(env)["modules"][0]["slots"]:
            self.assertEqual((slot["description"], slot["manufacturer"]),
                             ("Reader on the left", "Maker"))

    def test_flags_set_and_cleared_as_pkcs11_tool_shows_them(self):
        slot = self.main_slot()
        env = self.fault_env(token_info=[{
            "slot": slot, "set_flags": ["CKF_USER_PIN_COUNT_LOW", "CKF_USER_PIN_FINAL_TRY"],
            "clear_flags": CKF_LOGIN_REQUIRED}])
        tool = next(s for s in testlib.pkcs11_tool_slots(self.fault, env=env) if s["id"] == slot)
        self.assertIn("user_pin_final_try", tool["token"]["flags"])
        self.assertNotIn("login_required", tool["token"]["flags"])
        token = self.slot_of(self.slots(env), slot)["token"]
        self.assertEqual(set(token["flags"]), tool["token"]["flags"])
        self.assertEqual((token["pin_status"]["count_low"], token["pin_status"]["final_try"]),
                         (True, True))

    def read_certificate(self, env, id_hex):
        r = subprocess.run(["pkcs11-tool", "--module", self.fault, "--token-label", sf.MAIN,
                            "--read-object", "--type", "cert", "--id", id_hex],
                           env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_a_certificates_value_rewritten_for_its_id_alone(self):
        certs = {c.id_hex: c for c in self.hsm.certs_on(sf.MAIN)}
        env = self.fault_env(attribute_values=[{
            "id": "01", "class": "CKO_CERTIFICATE", "type": "CKA_VALUE",
            "hex": certs["03"].der.hex()}])
        self.assertEqual(self.read_certificate(env, "01"), certs["03"].der)
        self.assertEqual(self.read_certificate(env, "04"), certs["04"].der)
        self.assertTrue(any(c.how == "rewritten" for c in self.calls("C_GetAttributeValue")))
        doc = self.json_of(self.cactool("certs", "--module", self.fault, "--token", sf.MAIN,
                                        "--json", env=env), 0)
        by_id = {c["id"]: c["sha256"] for c in doc["certificates"]}
        self.assertEqual(by_id["01"], testlib.sha256_of_der_openssl(certs["03"].der))

    def test_an_attribute_rewrite_of_cka_id_is_refused(self):
        env = self.fault_env(attribute_values=[{"id": "01", "type": 0x102, "hex": "02"}])
        r = subprocess.run(["pkcs11-tool", "--module", self.fault, "-L"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("attribute_values[0].type", r.stderr)

    def test_slot_list_hidden_added_and_reversed(self):
        real = [s["id"] for s in testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)]
        hidden, added = real[0], 4242
        env = self.fault_env(slot_list={"hide": [hidden], "add_empty": [added],
                                        "reverse": True})
        expected = list(reversed(real[1:] + [added]))
        tool = testlib.pkcs11_tool_slots(self.fault, env=env)
        self.assertEqual([s["id"] for s in tool], expected)
        slots = self.slots(env)["modules"][0]["slots"]
        self.assertEqual([s["id"] for s in slots], expected)
        empty = self.slot_of({"modules": [{"slots": slots}]}, added)
        self.assertEqual((empty["token_present"], empty["token"]), (False, None))
        self.assertEqual(empty["description"], "cactool fault module empty slot")

    def test_slot_list_that_grows_between_the_calls_is_asked_again(self):
        real = [s["id"] for s in testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)]
        for update_count in (True, False):
            with self.subTest(update_count=update_count):
                env = self.fault_env(slot_list={"grow": {"times": 1, "by": 2,
                                                         "update_count": update_count}})
                slots = self.slots(env)["modules"][0]["slots"]
                self.assertEqual(sorted(s["id"] for s in slots), sorted(real))
                answers = [c.rv for c in self.calls("C_GetSlotList")]
                self.assertEqual(answers.count("CKR_BUFFER_TOO_SMALL"), 1, answers)
                self.assertEqual(answers[-1], "CKR_OK")

    def test_slot_list_that_never_settles_is_a_clear_error(self):
        env = self.fault_env(slot_list={"grow": {"times": 1000}})
        r = self.cactool("slots", "--module", self.fault, "--json", env=env)
        err = self.assertErrorDocument(r, EXIT_FAILED)
        self.assertEqual(err["name"], "CKR_BUFFER_TOO_SMALL")
        too_small = [c for c in self.calls("C_GetSlotList") if c.rv == "CKR_BUFFER_TOO_SMALL"]
        self.assertTrue(1 < len(too_small) <= 10, "bounded retries: %r" % too_small)



class RecoveryTest(FaultModuleTestCase):
    """Faults the recovery policy handles: the expected actions are the error taxonomy's,
    the expected certificates the fixture's (fingerprints by openssl)."""

    def main_fingerprints(self):
        return {testlib.sha256_of_der_openssl(c.der) for c in self.hsm.certs_on(sf.MAIN)}

    def certs(self, env, code=0):
        return self.json_of(self.cactool("certs", "--module", self.fault, "--token", sf.MAIN,
                                         "--json", env=env), code)

    def test_a_session_that_became_invalid_is_opened_again(self):
        env = self.fault_env(faults=[{"function": "C_FindObjects", "call": 1,
                                      "rv": "CKR_SESSION_HANDLE_INVALID"}])
        doc = self.certs(env)
        self.assertEqual({c["sha256"] for c in doc["certificates"]}, self.main_fingerprints())
        self.assertEqual(len(self.calls("C_OpenSession")), 2)

    def test_one_failed_attribute_read_costs_no_certificate(self):
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "call": 3,
                                      "rv": "CKR_DEVICE_ERROR"}])
        doc = self.certs(env)
        self.assertEqual({c["sha256"] for c in doc["certificates"]}, self.main_fingerprints())
        self.assertEqual([c.how for c in self.calls("C_GetAttributeValue")].count("injected"), 1)

    def test_reads_that_keep_failing_give_one_document_and_the_communication_code(self):
        env = self.fault_env(faults=[{"function": "C_GetAttributeValue", "from": 3,
                                      "rv": "CKR_DEVICE_ERROR"}])
        r = self.cactool("certs", "--module", self.fault, "--token", sf.MAIN, "--json",
                         env=env)
        self.assertEqual(self.assertErrorDocument(r, EXIT_COMMUNICATION)["name"],
                         "CKR_DEVICE_ERROR")


class RecoveryCaseTest(FaultModuleTestCase):
    """Faults the error taxonomy names a recovery action for: one transient failure must
    not end a command whose work can be repeated."""

    # CKR_DEVICE_ERROR's action is "reconnect"; the listing is safe to repeat.
    def test_one_device_error_on_the_slot_list_is_retried(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotList", "call": 1,
                                      "rv": "CKR_DEVICE_ERROR"}])
        self.slots(env)
        self.assertEqual(self.calls("C_GetSlotList")[0].how, "injected")

    # CKR_CRYPTOKI_NOT_INITIALIZED's action is "reinitialize_module".
    def test_the_module_is_initialised_again_when_it_says_it_is_not(self):
        env = self.fault_env(faults=[{"function": "C_GetSlotList", "call": 1,
                                      "rv": "CKR_CRYPTOKI_NOT_INITIALIZED"}])
        self.slots(env)
        self.assertEqual(len(self.calls("C_Initialize")), 2)

    # CKR_DEVICE_REMOVED's action is "reopen_session" once the token is back; here it
    # never left.
    def test_a_session_refused_once_as_removed_is_opened_again(self):
        env = self.fault_env(faults=[{"function": "C_OpenSession", "call": 1,
                                      "rv": "CKR_DEVICE_REMOVED"}])
        doc = self.json_of(self.cactool("certs", "--module", self.fault, "--token", sf.MAIN,
                                        "--json", env=env))
        self.assertEqual(len(doc["certificates"]), len(self.hsm.certs_on(sf.MAIN)))

# -- PKCS#11 calls made here through ctypes, in a child process (SoftHSM2 reads its
#    configuration once per process) -----------------------------------------------


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte)]


class FunctionList(ctypes.Structure):
    # The head of CK_FUNCTION_LIST (PKCS#11 v2.40 section 3.6), as far as the probes use it.
    _fields_ = [("version", Version)] + [
        (name, ctypes.c_void_p) for name in (
            "C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList",
            "C_GetSlotInfo", "C_GetTokenInfo")]


class Interface(ctypes.Structure):
    # CK_INTERFACE of PKCS#11 3.0.
    _fields_ = [("name", ctypes.c_char_p), ("functions", ctypes.c_void_p),
                ("flags", ctypes.c_ulong)]


def run_probe(name, module, env, *args):
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--probe", name, module, *args],
        env=env, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError("probe %s failed: %s" % (name, proc.stderr.decode()))
    return json.loads(proc.stdout)


def probe_interfaces(lib):
    ulong = ctypes.c_ulong
    functions = ctypes.POINTER(FunctionList)()
    lib.C_GetFunctionList(ctypes.byref(functions))
    count = ulong(0)
    list_rv = [lib.C_GetInterfaceList(None, ctypes.byref(count))]
    interfaces = (Interface * count.value)()
    list_rv.append(lib.C_GetInterfaceList(interfaces, ctypes.byref(count)))
    found = ctypes.POINTER(Interface)()
    default_rv = lib.C_GetInterface(None, None, ctypes.byref(found), ulong(0))
    offered = ctypes.cast(found.contents.functions, ctypes.POINTER(FunctionList)).contents
    other = ctypes.POINTER(Interface)()
    v3 = Version(3, 0)
    return {
        "list_rv": list_rv,
        "names": [i.name.decode() for i in interfaces],
        "default_rv": default_rv,
        "default_list": found.contents.functions,
        "function_list": ctypes.cast(functions, ctypes.c_void_p).value,
        "version": [offered.version.major, offered.version.minor],
        "v3_rv": lib.C_GetInterface(b"PKCS 11", ctypes.byref(v3), ctypes.byref(other), 0),
        "vendor_rv": lib.C_GetInterface(b"Vendor", None, ctypes.byref(other), 0),
    }


def first_token_label(functions):
    ulong, ulong_p = ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong)
    call = ctypes.CFUNCTYPE(ulong, ctypes.c_void_p)
    get_slots = ctypes.CFUNCTYPE(ulong, ctypes.c_ubyte, ulong_p, ulong_p)
    get_token = ctypes.CFUNCTYPE(ulong, ulong, ctypes.c_void_p)
    call(functions.C_Initialize)(None)
    count = ulong(0)
    get_slots(functions.C_GetSlotList)(1, None, ctypes.byref(count))
    slots = (ulong * count.value)()
    get_slots(functions.C_GetSlotList)(1, slots, ctypes.byref(count))
    info = ctypes.create_string_buffer(1024)  # larger than CK_TOKEN_INFO
    get_token(functions.C_GetTokenInfo)(slots[0], info)
    call(functions.C_Finalize)(None)
    return info.raw[:32].decode().rstrip(" ")


def probe_reread(lib, second_config):
    functions = ctypes.POINTER(FunctionList)()
    lib.C_GetFunctionList(ctypes.byref(functions))
    labels = [first_token_label(functions.contents)]
    with open(os.environ["CACTOOL_FAULT_CONFIG"], "w") as f:
        f.write(second_config)
    labels.append(first_token_label(functions.contents))
    return {"labels": labels}


def probe_main(name, module, *args):
    lib = ctypes.CDLL(module)
    probes = {"interfaces": probe_interfaces, "reread": probe_reread}
    print(json.dumps(probes[name](lib, *args)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        probe_main(*sys.argv[2:])
    else:
        base.main()
