#!/usr/bin/python3
"""SoftHSM2 tokens filled with certificates, in a temporary folder, for cactool's tests.

The fixture writes its own softhsm2.conf (SOFTHSM2_CONF), so the machine's tokens are never
seen or changed. It makes a small test PKI with openssl (a root CA, an issuing CA, four end
entity certificates: RSA 2048, RSA 4096, ECDSA P-256, ECDSA P-384, and an unrelated CA for
negative chain checks), imports the certificates with pkcs11-tool and the private keys of
some of them, adds the edge-case certificates from tests/data/05-parser-edge-cases, two
objects whose CKA_VALUE is not a certificate (pkcs11-tool refuses to write those, so they go
in through the module's own C_CreateObject via ctypes), and tokens with awkward labels.

Used by the tests as a context manager:

    with SoftHsmFixture() as hsm:
        hsm.env, hsm.module, hsm.tokens, hsm.certs, hsm.root_ca_pem, ...

and as a script:

    softhsm_fixture.py                 build, print a summary, remove everything
    softhsm_fixture.py --json          the same summary as JSON
    softhsm_fixture.py --keep DIR      build into DIR and leave it there
    softhsm_fixture.py -- CMD ARGS...  build, run CMD with SOFTHSM2_CONF,
                                       CACTOOL_TEST_MODULE, CACTOOL_TEST_PIN and
                                       CACTOOL_TEST_SO_PIN set, remove, exit with CMD's code
"""

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlib  # noqa: E402

# PINs are deliberately unusual strings, so a leak is found by a plain substring search and
# never confused with digits that appear in serials or hex dumps.
USER_PIN = "Qz7-user-PIN-4711"
SO_PIN = "Qz7-so-PIN-0815"
WRONG_PIN = "Qz7-wrong-PIN-9999"

MAIN = "cactool main"
EDGE = "cactool edge"
PIN_TOKEN = "cactool pin"
ODD = "Ünï & sp/%;=?"  # needs UTF-8 and percent-encoding in a URI
FULL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"  # all 32 bytes, no padding at all
PADDED = "  padded label"  # leading blanks are part of the label

TOKEN_LABELS = [MAIN, EDGE, PIN_TOKEN, ODD, FULL, PADDED]

EXTENSIONS = """
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[issuing]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[rsa2048]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, msSmartcardLogin
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[rsa4096]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[p256]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, msSmartcardLogin
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[p384]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyAgreement
extendedKeyUsage = serverAuth, 1.3.6.1.4.1.55555.1.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

# name, key algorithm for openssl genpkey, subject, serial, ext section, issuer, days
PKI = [
    ("root", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
     "/C=US/O=cactool tests/CN=cactool Test Root CA", "0x01", "root", None, 3650),
    ("issuing", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
     "/C=US/O=cactool tests/CN=cactool Test Issuing CA", "0x1000", "issuing", "root", 3000),
    ("unrelated", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
     "/C=US/O=somebody else/CN=Unrelated Test Root CA", "0x02", "root", None, 3650),
    ("rsa2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
     "/C=US/O=cactool, tests/OU=PIV/CN=Test User RSA 2048", "0x7d2a11", "rsa2048",
     "issuing", 825),
    # A serial with its top bit set needs a leading zero byte in DER.
    ("rsa4096", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
     "/C=US/O=cactool tests/CN=Test User RSA 4096/emailAddress=rsa4096@example.test",
     "0x8000000000000001", "rsa4096", "issuing", 825),
    ("p256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
     "/C=US/O=cactool tests/CN=Test User P-256", "0x3c", "p256", "issuing", 825),
    ("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
     "/C=US/O=cactool tests/CN=Jörg Test P-384", "0x0123456789abcdef01", "p384",
     "issuing", 825),
]

# token, PKI name, CKA_ID hex, label, import the private key?
GENERATED_OBJECTS = [
    (MAIN, "rsa2048", "01", "Test User RSA 2048", True),
    (MAIN, "rsa4096", "02", "Test User RSA 4096", False),
    (MAIN, "p256", "03", "Test User P-256", True),
    (MAIN, "p384", "04", "Test User P-384", False),
    (MAIN, "issuing", "10", "cactool Test Issuing CA", False),
    (PIN_TOKEN, "p256", "03", "Test User P-256", True),
    (ODD, "rsa2048", "01", "odd token cert", False),
    (PADDED, "p384", "04", "padded token cert", False),
]

# token EDGE: file in tests/data/05-parser-edge-cases, CKA_ID hex, label
EDGE_OBJECTS = [
    ("negative_serial_number.pem", "21", "negative serial"),
    ("icam_card13_piv_auth_EXPIRED_2014.crt", "22", "expired 2014"),
    ("icam_card12_piv_auth_NOT_YET_VALID_until_2030.crt", "23", "not yet valid 2030"),
    ("icam_root_rsa4096.crt", "24", "ICAM root RSA 4096"),
    ("icam_root_generalizedtime_NOT_YET_VALID_2051.crt", "25", "not before 2051"),
    ("icam_root_generalizedtime_notAfter_2052.crt", "26", "not after 2052"),
    ("icam_card53_LARGE_card_auth_cert.crt", "27", "large card auth"),
    ("unknown_critical_extension_chain.pem", "28", "unknown critical extension"),
]

# token EDGE: objects of class CKO_CERTIFICATE whose value does not parse.
BROKEN_OBJECTS = [
    ("e1", "not a certificate", "garbage"),
    ("e2", "truncated certificate", "truncated"),
]


class Cert:
    """A certificate object the fixture put on a token, with what openssl says of it."""

    def __init__(self, token, label, id_hex, der_path, pem_path, key_imported, source):
        self.token = token
        self.label = label
        self.id_hex = id_hex
        self.der_path = der_path
        self.pem_path = pem_path
        self.key_imported = key_imported
        self.source = source
        self.der = Path(der_path).read_bytes()

    def __repr__(self):
        return "Cert(%r on %r, id %s)" % (self.label, self.token, self.id_hex)


class BrokenObject:
    def __init__(self, token, label, id_hex, value):
        self.token = token
        self.label = label
        self.id_hex = id_hex
        self.value = value


class FixtureError(RuntimeError):
    pass


class SoftHsmFixture:
    def __init__(self, testdata=None, root=None, keep=False, quiet=True):
        here = Path(__file__).resolve().parent
        self.testdata = Path(
            testdata or os.environ.get("CACTOOL_TESTDATA") or here.parent / "data"
        )
        self._root_arg = root
        self.keep = keep or root is not None
        self.quiet = quiet
        self.user_pin, self.so_pin, self.wrong_pin = USER_PIN, SO_PIN, WRONG_PIN
        self.certs = []
        self.broken = []
        self.tokens = {}

    # -- lifecycle --------------------------------------------------------------

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def setup(self):
        missing = testlib.require_tools("softhsm2-util", "pkcs11-tool", "openssl")
        if missing:
            raise FixtureError("missing tools: " + ", ".join(missing))
        self.module = testlib.find_module("softhsm2")
        if not self.module:
            raise FixtureError("p11-kit knows no softhsm2 module (is softhsm2 installed?)")
        if self._root_arg:
            self.root = Path(self._root_arg).resolve()
            self.root.mkdir(parents=True, exist_ok=True)
        else:
            self.root = Path(tempfile.mkdtemp(prefix="cactool-softhsm-"))
        for sub in ("tokens", "pki", "config", "state", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        self.conf = self.root / "softhsm2.conf"
        self.conf.write_text(
            "directories.tokendir = %s\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n" % (self.root / "tokens")
        )
        # The tests' environment: this SoftHSM configuration, and config/state folders
        # of their own, so no user config or journal of the machine is read or written.
        self.env = testlib.clean_env(
            SOFTHSM2_CONF=self.conf,
            XDG_CONFIG_HOME=self.root / "config",
            XDG_STATE_HOME=self.root / "state",
            HOME=self.root / "home",
            LC_ALL="C.UTF-8",
        )
        self._log("SoftHSM2 module: %s" % self.module)
        self._log("folder: %s" % self.root)
        self._make_pki()
        for label in TOKEN_LABELS:
            self._init_token(label)
        self._import_generated()
        self._import_edge_cases()
        self._import_broken()
        self._read_slot_ids()

    def cleanup(self):
        root = getattr(self, "root", None)
        if root and not self.keep and root.exists():
            shutil.rmtree(root, ignore_errors=True)

    # -- building ---------------------------------------------------------------

    def _log(self, text):
        if not self.quiet:
            print("[fixture] " + text, file=sys.stderr, flush=True)

    def _run(self, args, **kw):
        return testlib.run_tool(args, env=self.env, **kw)

    def _make_pki(self):
        pki = self.root / "pki"
        ext = pki / "extensions.cnf"
        ext.write_text(EXTENSIONS)
        self.pki = {}
        for name, keyalg, subject, serial, section, issuer, days in PKI:
            key, csr = pki / (name + ".key"), pki / (name + ".csr")
            pem, der = pki / (name + ".pem"), pki / (name + ".der")
            self._run(["openssl", "genpkey"] + keyalg + ["-out", key])
            self._run(["openssl", "req", "-new", "-utf8", "-key", key, "-subj", subject,
                       "-out", csr])
            sign = ["openssl", "x509", "-req", "-in", csr, "-days", str(days), "-sha256",
                    "-set_serial", serial, "-extfile", ext, "-extensions", section,
                    "-out", pem]
            if issuer is None:
                sign += ["-signkey", key]
            else:
                sign += ["-CA", pki / (issuer + ".pem"), "-CAkey", pki / (issuer + ".key")]
            self._run(sign)
            self._run(["openssl", "x509", "-in", pem, "-outform", "DER", "-out", der])
            keyder = pki / (name + ".key.der")
            self._run(["openssl", "pkey", "-in", key, "-outform", "DER", "-out", keyder])
            self.pki[name] = {"key": key, "key_der": keyder, "pem": pem, "der": der}
            self._log("made %s certificate: %s" % (name, subject))
        self.root_ca_pem = str(self.pki["root"]["pem"])
        self.issuing_ca_pem = str(self.pki["issuing"]["pem"])
        self.unrelated_ca_pem = str(self.pki["unrelated"]["pem"])
        chain = pki / "root+issuing.pem"
        chain.write_bytes(
            self.pki["issuing"]["pem"].read_bytes() + self.pki["root"]["pem"].read_bytes()
        )
        self.chain_pem = str(chain)
        self.ca_dir = pki / "ca-dir"
        self.ca_dir.mkdir(exist_ok=True)
        shutil.copy(self.root_ca_pem, self.ca_dir / "root.pem")
        self._run(["openssl", "rehash", self.ca_dir], check=False)

    def _init_token(self, label):
        self._run(["softhsm2-util", "--init-token", "--free", "--label", label,
                   "--pin", self.user_pin, "--so-pin", self.so_pin])
        self.tokens[label] = {"label": label}
        self._log("initialised token %r" % label)

    def _pkcs11_tool_write(self, token, path, obj_type, id_hex, label):
        self._run(["pkcs11-tool", "--module", self.module, "--token-label", token,
                   "--login", "--pin", self.user_pin, "--write-object", path,
                   "--type", obj_type, "--id", id_hex, "--label", label])

    def _import_generated(self):
        for token, name, id_hex, label, with_key in GENERATED_OBJECTS:
            files = self.pki[name]
            self._pkcs11_tool_write(token, files["der"], "cert", id_hex, label)
            if with_key:
                self._pkcs11_tool_write(token, files["key_der"], "privkey", id_hex, label)
            self.certs.append(
                Cert(token, label, id_hex, str(files["der"]), str(files["pem"]), with_key,
                     "generated:" + name)
            )
            self._log("imported %s on %r as id %s%s"
                      % (name, token, id_hex, " with its private key" if with_key else ""))

    def _import_edge_cases(self):
        src = self.testdata / "05-parser-edge-cases"
        out = self.root / "edge"
        out.mkdir(exist_ok=True)
        for filename, id_hex, label in EDGE_OBJECTS:
            der, pem = out / (id_hex + ".der"), out / (id_hex + ".pem")
            # openssl reads the first certificate of a file; the chain file has the leaf first.
            self._run(["openssl", "x509", "-in", src / filename, "-outform", "DER", "-out", der])
            self._run(["openssl", "x509", "-in", der, "-inform", "DER", "-out", pem])
            self._pkcs11_tool_write(EDGE, der, "cert", id_hex, label)
            self.certs.append(Cert(EDGE, label, id_hex, str(der), str(pem), False,
                                   "edge:" + filename))
            self._log("imported %s on %r as id %s" % (filename, EDGE, id_hex))

    def _import_broken(self):
        good = self.pki["rsa2048"]["der"].read_bytes()
        values = {
            # Deterministic bytes that are not DER at all.
            "garbage": bytes((i * 37 + 11) % 256 for i in range(300)),
            # A real certificate cut short: the outer SEQUENCE claims more than is there.
            "truncated": good[:200],
        }
        for id_hex, label, kind in BROKEN_OBJECTS:
            value = values[kind]
            create_raw_certificate(self.module, self.conf, EDGE, self.user_pin,
                                   bytes.fromhex(id_hex), label, value)
            self.broken.append(BrokenObject(EDGE, label, id_hex, value))
            self._log("wrote %s object %r on %r through C_CreateObject" % (kind, label, EDGE))

    def _read_slot_ids(self):
        for slot in testlib.pkcs11_tool_slots(self.module, env=self.env):
            tok = slot.get("token")
            if not tok:
                continue
            for label, info in self.tokens.items():
                if tok["label_raw"].rstrip(" ") == label:
                    info["slot_id"] = slot["id"]
                    info["serial"] = tok["serial"]

    # -- queries ----------------------------------------------------------------

    def certs_on(self, token):
        return [c for c in self.certs if c.token == token]

    def broken_on(self, token):
        return [b for b in self.broken if b.token == token]

    def summary(self):
        return {
            "module": self.module,
            "softhsm2_conf": str(self.conf),
            "user_pin": self.user_pin,
            "so_pin": self.so_pin,
            "root_ca": self.root_ca_pem,
            "unrelated_ca": self.unrelated_ca_pem,
            "tokens": [
                {
                    "label": label,
                    "slot_id": info.get("slot_id"),
                    "serial": info.get("serial"),
                    "certificates": [
                        {"label": c.label, "id": c.id_hex, "private_key": c.key_imported,
                         "source": c.source}
                        for c in self.certs_on(label)
                    ]
                    + [
                        {"label": b.label, "id": b.id_hex, "private_key": False,
                         "source": "not a certificate"}
                        for b in self.broken_on(label)
                    ],
                }
                for label, info in self.tokens.items()
            ],
        }


# ---------------------------------------------------------------------------
# C_CreateObject through ctypes, for certificate objects pkcs11-tool refuses to write.

CKF_RW_SESSION, CKF_SERIAL_SESSION = 0x2, 0x4
CKU_USER = 1
CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL = 0x0, 0x1, 0x2, 0x3
CKA_VALUE, CKA_CERTIFICATE_TYPE, CKA_SUBJECT, CKA_ID = 0x11, 0x80, 0x101, 0x102
CKO_CERTIFICATE, CKC_X_509 = 1, 0


class _Attribute(ctypes.Structure):
    _fields_ = [("type", ctypes.c_ulong), ("value", ctypes.c_void_p),
                ("length", ctypes.c_ulong)]


def create_raw_certificate(module, conf, token_label, pin, id_bytes, label, value):
    """Runs in a child process: SoftHSM reads SOFTHSM2_CONF once per process."""
    code = (
        "import sys, softhsm_fixture as f; "
        "f._create_raw_certificate_here(*sys.argv[1:3], sys.argv[3], "
        "bytes.fromhex(sys.argv[4]), sys.argv[5], bytes.fromhex(sys.argv[6]))"
    )
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", code, module, token_label, pin, id_bytes.hex(), label,
         value.hex()],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
    )
    if proc.returncode != 0:
        raise FixtureError("C_CreateObject helper failed: " + proc.stderr.decode())


def _check(rv, what):
    if rv != 0:
        raise FixtureError("%s failed: CKR 0x%x" % (what, rv))


def _create_raw_certificate_here(module, token_label, pin, id_bytes, label, value):
    lib = ctypes.CDLL(module)
    ulong, ulong_p = ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong)
    lib.C_Initialize.argtypes = [ctypes.c_void_p]
    lib.C_GetSlotList.argtypes = [ctypes.c_ubyte, ulong_p, ulong_p]
    lib.C_GetTokenInfo.argtypes = [ulong, ctypes.c_void_p]
    lib.C_OpenSession.argtypes = [ulong, ulong, ctypes.c_void_p, ctypes.c_void_p, ulong_p]
    lib.C_Login.argtypes = [ulong, ulong, ctypes.c_char_p, ulong]
    lib.C_CreateObject.argtypes = [ulong, ctypes.POINTER(_Attribute), ulong, ulong_p]
    lib.C_Logout.argtypes = [ulong]
    lib.C_CloseSession.argtypes = [ulong]
    lib.C_Finalize.argtypes = [ctypes.c_void_p]
    _check(lib.C_Initialize(None), "C_Initialize")
    try:
        count = ulong(0)
        _check(lib.C_GetSlotList(1, None, ctypes.byref(count)), "C_GetSlotList")
        slots = (ulong * count.value)()
        _check(lib.C_GetSlotList(1, slots, ctypes.byref(count)), "C_GetSlotList")
        wanted = token_label.encode("utf-8")
        slot = None
        for s in slots[: count.value]:
            info = ctypes.create_string_buffer(1024)  # larger than CK_TOKEN_INFO
            _check(lib.C_GetTokenInfo(s, info), "C_GetTokenInfo")
            if info.raw[:32].rstrip(b" ") == wanted:
                slot = s
        if slot is None:
            raise FixtureError("no token labelled %r" % token_label)
        session = ulong(0)
        _check(lib.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, None, None,
                                 ctypes.byref(session)), "C_OpenSession")
        pin_bytes = pin.encode()
        _check(lib.C_Login(session, CKU_USER, pin_bytes, len(pin_bytes)), "C_Login")
        keep = []

        def attr(kind, data):
            buf = ctypes.create_string_buffer(data, len(data))
            keep.append(buf)
            return _Attribute(kind, ctypes.cast(buf, ctypes.c_void_p), len(data))

        def ulong_bytes(n):
            return bytes(ctypes.c_ulong(n))

        attrs = (_Attribute * 8)(
            attr(CKA_CLASS, ulong_bytes(CKO_CERTIFICATE)),
            attr(CKA_CERTIFICATE_TYPE, ulong_bytes(CKC_X_509)),
            attr(CKA_TOKEN, b"\x01"),
            attr(CKA_PRIVATE, b"\x00"),
            attr(CKA_LABEL, label.encode("utf-8")),
            attr(CKA_ID, id_bytes),
            attr(CKA_SUBJECT, b"\x30\x00"),  # an empty Name; SoftHSM requires the attribute
            attr(CKA_VALUE, value),
        )
        handle = ulong(0)
        _check(lib.C_CreateObject(session, attrs, 8, ctypes.byref(handle)), "C_CreateObject")
        lib.C_Logout(session)
        lib.C_CloseSession(session)
    finally:
        lib.C_Finalize(None)


# ---------------------------------------------------------------------------


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="build into DIR and leave it there")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--testdata", help="tests/data folder (default: next to this file)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    fixture = SoftHsmFixture(testdata=args.testdata, root=args.keep, quiet=args.quiet)
    with fixture:
        if command:
            env = dict(fixture.env, CACTOOL_TEST_MODULE=fixture.module,
                       CACTOOL_TEST_PIN=fixture.user_pin, CACTOOL_TEST_SO_PIN=fixture.so_pin)
            return subprocess.call(command, env=env)
        summary = fixture.summary()
        if args.json:
            print(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            print("module:        %s" % summary["module"])
            print("SOFTHSM2_CONF: %s" % summary["softhsm2_conf"])
            print("user PIN:      %s   SO PIN: %s" % (fixture.user_pin, fixture.so_pin))
            for tok in summary["tokens"]:
                print("token %r  slot %s  serial %s" % (tok["label"], tok["slot_id"],
                                                        tok["serial"]))
                for c in tok["certificates"]:
                    print("    id %-3s %-28s key %-5s %s" % (c["id"], c["label"],
                                                            c["private_key"], c["source"]))
        if args.keep:
            print("kept; use: export SOFTHSM2_CONF=%s" % fixture.conf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
