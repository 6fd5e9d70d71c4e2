"""What the integration tests need from the PC/SC test bed (tests/testbed/README.md).

A test file calls enter() before anything else: outside a bed it re-executes itself inside
`tests/testbed/run` (a private pcscd, vpcd and the virtual PIV card), so the file's tests
see the bed's reader, its card and `cardctl`. If the bed cannot start, `run` exits 125 and
the test fails: the real stack is the point of these tests, so there is no silent skip.

The expected values here come from the card's own export folder (what the profile put on
the card), recomputed with openssl, and from the card's control channel (its counters and
its log of APDUs) — never from cactool.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlib  # noqa: E402

HERE = Path(__file__).resolve().parent
PROFILES = HERE.parent / "testbed" / "profiles"

# The default card's secrets (tests/testbed/README.md, "Card profiles").
DEFAULT_PIN = "123456"
DEFAULT_PUK = "12345678"


def enter(*run_options):
    """Re-executes the calling test file inside a test bed started with run_options."""
    if os.environ.get("CACTOOL_TESTBED_DIR"):
        return
    run = os.environ.get("CACTOOL_TESTBED_RUN") or str(HERE.parent / "testbed" / "run")
    script = os.path.abspath(sys.argv[0])
    args = [run, *run_options, "--", sys.executable, script, *sys.argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(run, args)


def reader_name():
    return os.environ["CACTOOL_TESTBED_READER"]


def card_dir():
    return Path(os.environ["CACTOOL_TESTBED_CARD"])


def manifest():
    """card.json: what the card holds, written by the simulator from its profile."""
    return json.loads((card_dir() / "card.json").read_text())


def slot_certificate_der(slot):
    """The DER of the certificate the profile put in a PIV slot, as openssl reads the PEM."""
    entry = manifest()["slots"][slot]
    der, _, _ = testlib._der_of(card_dir() / entry["certificate"], "PEM")
    return der


def slot_fingerprints():
    """{slot: sha256 hex (lowercase)} of every certificate on the card, computed by openssl."""
    return {
        slot: testlib.sha256_of_der_openssl(slot_certificate_der(slot))
        for slot in manifest()["slots"]
    }


def public_key_pem(slot, out_dir):
    """The slot certificate's public key, extracted by openssl, as a PEM file."""
    cert = card_dir() / manifest()["slots"][slot]["certificate"]
    path = Path(out_dir) / ("%s.pub.pem" % slot)
    out, _, _ = testlib.run_tool(["openssl", "x509", "-in", cert, "-noout", "-pubkey"])
    path.write_text(out)
    return path


def cardctl(*args, check=True, timeout=60):
    """Runs cardctl; returns the CompletedProcess (text)."""
    proc = subprocess.run(
        [os.environ["CACTOOL_CARDCTL"], *[str(a) for a in args]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise testlib.ToolError(
            "cardctl %s failed (exit %d): %s" % (" ".join(map(str, args)), proc.returncode,
                                                  proc.stderr))
    return proc


def card_status():
    """The card's own view: PIN and PUK tries, verified state, APDU count."""
    return json.loads(cardctl("status").stdout)


def apdu_log(clear=False):
    """Every exchange the card saw, oldest first (dicts with event, command, response)."""
    out = cardctl("log", *(["--clear"] if clear else [])).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def use_profile(name_or_path):
    """Swaps the card for one made from another profile and waits until pcscd sees it."""
    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = PROFILES / name_or_path
    cardctl("profile", path)
    cardctl("wait", "present", "--timeout", "10")


def restore_card():
    """Puts back a fresh card from the current profile (counters full, same keys)."""
    cardctl("restore")
    cardctl("wait", "present", "--timeout", "10")


def opensc_module():
    """OpenSC's PKCS#11 module, from p11-kit's registry or the library cache."""
    return testlib.find_module("opensc-pkcs11")


def opensc_module_or_skip():
    """OpenSC's PKCS#11 module, for a test class's setUpClass: the class is skipped on a
    machine without it, since OpenSC is what these classes look at the card through."""
    module = opensc_module()
    if not module:
        raise unittest.SkipTest("OpenSC's PKCS#11 module is not installed")
    return module


def ykcs11_module():
    return testlib.find_module("ykcs11") or testlib.find_shared_library("libykcs11.so")


def pkcs11_tool_certificates(module):
    """{CKA_ID hex: DER} of every certificate pkcs11-tool reads through a module."""
    out, _, _ = testlib.run_tool(
        ["pkcs11-tool", "--module", module, "--list-objects", "--type", "cert"])
    found = {}
    with tempfile.TemporaryDirectory(prefix="cactool-testbed-") as tmp:
        for object_id in re.findall(r"^\s+ID:\s+([0-9a-fA-F]+)\s*$", out, re.M):
            path = Path(tmp) / (object_id + ".der")
            testlib.run_tool(["pkcs11-tool", "--module", module, "--read-object", "--type",
                              "cert", "--id", object_id, "-o", path])
            found[object_id.lower()] = path.read_bytes()
    return found


def verify_commands(log):
    """The VERIFY commands (INS 20) in an APDU log, as (P2, has_data) pairs."""
    found = []
    for entry in log:
        command = entry.get("command") or ""
        if entry.get("event") != "apdu" or len(command) < 8:
            continue
        if command[2:4].upper() == "20":
            found.append((command[6:8].upper(), len(command) > 8))
    return found
