"""Shared helpers for cactool's integration tests.

Everything a test expects comes from a tool other than cactool: openssl for certificate
fields, pkcs11-tool (OpenSC) and p11tool (GnuTLS) for slots, tokens, objects and
mechanisms. This file runs those tools and turns their text into Python values; it never
looks at cactool's output.

Python 3 standard library only.
"""

import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.parse
from pathlib import Path

TOOL_TIMEOUT = 120


class ToolError(RuntimeError):
    pass


def run_tool(args, env=None, input_bytes=None, check=True, timeout=TOOL_TIMEOUT):
    """Runs an oracle tool; returns (stdout_text, stderr_text, returncode)."""
    proc = subprocess.run(
        [str(a) for a in args],
        input=input_bytes,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
    )
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise ToolError(
            "command failed (exit %d): %s\nstdout:\n%s\nstderr:\n%s"
            % (proc.returncode, " ".join(str(a) for a in args), out, err)
        )
    return out, err, proc.returncode


def require_tools(*names):
    """Returns the names that are missing from PATH."""
    return [n for n in names if shutil.which(n) is None]


# ---------------------------------------------------------------------------
# Finding PKCS#11 modules through p11-kit's configuration.
#
# `p11-kit list-modules` would also initialise every registered module, including
# OpenSC, which talks to the machine's pcscd; the tests must not touch that daemon, so
# the .module files are read directly instead. Relative `module:` paths are resolved the
# way p11-kit does, against its compiled-in module directory (pkg-config tells it).


def _pkg_config_var(name):
    if shutil.which("pkg-config") is None:
        return None
    try:
        out, _, _ = run_tool(["pkg-config", "--variable=" + name, "p11-kit-1"])
    except (ToolError, OSError):
        return None
    return out.strip() or None


def p11kit_module_dirs():
    found = _pkg_config_var("p11_module_path")
    dirs = [found] if found else []
    for base in ("/usr/lib", "/usr/lib64", "/lib"):
        dirs += [str(p) for p in sorted(Path(base).glob("*/pkcs11"))]
        dirs.append(base + "/pkcs11")
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def p11kit_config_dirs():
    found = _pkg_config_var("p11_module_configs")
    dirs = [found] if found else []
    dirs += ["/usr/share/p11-kit/modules", "/etc/pkcs11/modules"]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def p11kit_modules():
    """{module name: absolute library path} from p11-kit's .module files."""
    modules = {}
    for d in p11kit_config_dirs():
        for f in sorted(Path(d).glob("*.module")):
            for line in f.read_text(errors="replace").splitlines():
                m = re.match(r"^\s*module\s*:\s*(\S.*?)\s*$", line)
                if not m:
                    continue
                path = m.group(1)
                if not os.path.isabs(path):
                    for md in p11kit_module_dirs():
                        if os.path.exists(os.path.join(md, path)):
                            path = os.path.join(md, path)
                            break
                modules.setdefault(f.stem, path)
    return modules


def find_module(name):
    """Absolute path of a p11-kit registered module ("softhsm2", "p11-kit-trust")."""
    path = p11kit_modules().get(name)
    if path and os.path.isabs(path) and os.path.exists(path):
        return path
    return None


def find_shared_library(soname_prefix):
    """A path to a system library that is not a PKCS#11 module (e.g. libz)."""
    out, _, _ = run_tool(["/sbin/ldconfig", "-p"], check=False)
    for line in out.splitlines():
        m = re.match(r"^\s*(%s\S*)\s.*=>\s*(\S+)$" % re.escape(soname_prefix), line)
        if m and os.path.exists(m.group(2)):
            return m.group(2)
    return None


# ---------------------------------------------------------------------------
# openssl as the oracle for certificate fields.

# openssl's printed key usage names -> the snake_case names of RFC 5280's bits.
KEY_USAGE_NAMES = {
    "Digital Signature": {"digital_signature"},
    "Non Repudiation": {"non_repudiation", "content_commitment"},
    "Key Encipherment": {"key_encipherment"},
    "Data Encipherment": {"data_encipherment"},
    "Key Agreement": {"key_agreement"},
    "Certificate Sign": {"key_cert_sign"},
    "CRL Sign": {"crl_sign"},
    "Encipher Only": {"encipher_only"},
    "Decipher Only": {"decipher_only"},
}

# openssl's printed extended key usage names -> OID.
EKU_OIDS = {
    "TLS Web Server Authentication": "1.3.6.1.5.5.7.3.1",
    "TLS Web Client Authentication": "1.3.6.1.5.5.7.3.2",
    "Code Signing": "1.3.6.1.5.5.7.3.3",
    "E-mail Protection": "1.3.6.1.5.5.7.3.4",
    "Time Stamping": "1.3.6.1.5.5.7.3.8",
    "OCSP Signing": "1.3.6.1.5.5.7.3.9",
    "Microsoft Smartcard Login": "1.3.6.1.4.1.311.20.2.2",
    "Any Extended Key Usage": "2.5.29.37.0",
    "PKINIT Client Auth": "1.3.6.1.5.2.3.4",
    "Signing KDC Response": "1.3.6.1.5.2.3.5",
    "Microsoft Encrypted File System": "1.3.6.1.4.1.311.10.3.4",
}

# Names the contract fixes, and names an implementation may reasonably use for others.
EKU_REQUIRED_NAMES = {
    "1.3.6.1.5.5.7.3.2": {"client_auth"},
    "1.3.6.1.4.1.311.20.2.2": {"smartcard_logon"},
}
EKU_OPTIONAL_NAMES = {
    "1.3.6.1.5.5.7.3.1": {"server_auth"},
    "1.3.6.1.5.5.7.3.3": {"code_signing"},
    "1.3.6.1.5.5.7.3.4": {"email_protection"},
    "1.3.6.1.5.5.7.3.8": {"time_stamping"},
    "1.3.6.1.5.5.7.3.9": {"ocsp_signing"},
    "2.5.29.37.0": {"any", "any_extended_key_usage", "any_eku"},
}


def _openssl_date(text):
    # openssl's default date form: "Mar 21 00:00:00 2030 GMT"
    t = datetime.datetime.strptime(" ".join(text.split()), "%b %d %H:%M:%S %Y GMT")
    return t.replace(tzinfo=datetime.timezone.utc)


def cert_facts(path=None, inform=None, der=None):
    """The certificate's fields as openssl prints them, in the JSON contract's forms.

    Give a file (PEM or DER) or the DER bytes. One openssl run prints every field."""
    if der is None:
        path = str(path)
        if inform is None:
            with open(path, "rb") as f:
                inform = "PEM" if b"-----BEGIN CERTIFICATE-----" in f.read() else "DER"
        der, _, _ = _der_of(path, inform)
    out, _, _ = run_tool(
        # RFC 2253 with UTF-8 left as it is (openssl escapes it as \C3\B6 by default);
        # cactool prints names in UTF-8.
        ["openssl", "x509", "-inform", "DER", "-noout", "-nameopt", "RFC2253,-esc_msb",
         "-subject",
         "-issuer", "-serial", "-startdate", "-enddate", "-fingerprint", "-sha256", "-text",
         "-certopt", "no_sigdump"],
        input_bytes=der,
    )
    facts = {"der": der}
    lines = out.splitlines()
    for line in lines:
        if line.startswith(" "):
            continue
        key, _, value = line.partition("=")
        if key == "subject":
            facts["subject"] = value
        elif key == "issuer":
            facts["issuer"] = value
        elif key == "serial":
            facts["serial"] = value.lower()
        elif key == "notBefore":
            facts["not_before_dt"] = _openssl_date(value)
        elif key == "notAfter":
            facts["not_after_dt"] = _openssl_date(value)
        elif key.lower().startswith("sha256 fingerprint"):
            facts["sha256"] = value.replace(":", "").lower()
    for k in ("not_before", "not_after"):
        facts[k] = facts[k + "_dt"].strftime("%Y-%m-%dT%H:%M:%SZ")
    algo = re.search(r"Public Key Algorithm:\s*(\S+)", out).group(1)
    facts["key_type"] = {"rsaEncryption": "rsa", "id-ecPublicKey": "ec"}.get(algo, algo)
    bits = re.search(r"Public-Key:\s*\((\d+) bit\)", out)
    facts["key_bits"] = int(bits.group(1)) if bits else None
    facts.update(_extension_facts(lines))
    return facts


def _extension_facts(lines):
    facts = {"key_usage": None, "extended_key_usage": None}
    current = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("X509v3 Key Usage:"):
            current = "key_usage"
            continue
        if stripped.startswith("X509v3 Extended Key Usage:"):
            current = "extended_key_usage"
            continue
        if current is None:
            continue
        names = [n.strip() for n in stripped.split(",") if n.strip()]
        if current == "key_usage":
            facts[current] = [KEY_USAGE_NAMES[n] for n in names]
        else:
            oids = []
            for n in names:
                if re.fullmatch(r"\d+(\.\d+)+", n):
                    oids.append(n)
                elif n in EKU_OIDS:
                    oids.append(EKU_OIDS[n])
                else:
                    raise ToolError("no OID known for openssl's EKU name %r" % n)
            facts[current] = oids
        current = None
    return facts


def _der_of(path, inform):
    proc = subprocess.run(
        ["openssl", "x509", "-inform", inform, "-in", str(path), "-outform", "DER"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=TOOL_TIMEOUT,
    )
    if proc.returncode != 0:
        raise ToolError("openssl could not read %s: %s" % (path, proc.stderr.decode()))
    return proc.stdout, proc.stderr, proc.returncode


def der_to_pem_openssl(der):
    """openssl's PEM rendering of DER bytes (for a byte-for-byte comparison)."""
    proc = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-outform", "PEM"],
        input=der,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=TOOL_TIMEOUT,
    )
    if proc.returncode != 0:
        raise ToolError("openssl could not convert DER: " + proc.stderr.decode())
    return proc.stdout


def pem_blocks(data):
    """DER of each CERTIFICATE block in PEM text, in order."""
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    blocks = re.findall(
        r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", text, re.S
    )
    return [base64.b64decode("".join(b.split())) for b in blocks]


def der_sequence_split(data):
    """Splits concatenated DER certificates by their outer SEQUENCE lengths."""
    items, pos = [], 0
    while pos < len(data):
        if data[pos] != 0x30 or pos + 2 > len(data):
            raise ValueError("byte %d does not start a DER SEQUENCE" % pos)
        first = data[pos + 1]
        if first < 0x80:
            length, header = first, 2
        else:
            n = first & 0x7F
            length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
            header = 2 + n
        end = pos + header + length
        if end > len(data):
            raise ValueError("DER item at byte %d runs past the end" % pos)
        items.append(data[pos:end])
        pos = end
    return items


def bundle_certificates(path):
    """DER of every certificate in a PEM bundle (openssl re-encodes each block)."""
    return pem_blocks(Path(path).read_bytes())


def sha256_of_der_openssl(der):
    out = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-fingerprint", "-sha256"],
        input=der,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=TOOL_TIMEOUT,
    )
    line = out.stdout.decode().strip()
    return line.partition("=")[2].replace(":", "").lower()


def openssl_verify(ca_file, untrusted, cert, attime=None):
    args = ["openssl", "verify", "-CAfile", ca_file]
    if untrusted:
        args += ["-untrusted", untrusted]
    if attime is not None:
        args += ["-attime", str(int(attime))]
    _, _, rc = run_tool(args + [cert], check=False)
    return rc == 0


# ---------------------------------------------------------------------------
# pkcs11-tool (OpenSC) and p11tool (GnuTLS) as oracles for slots, tokens and objects.

# PKCS#11 v2.40 section 3.2, CK_TOKEN_INFO flags.
TOKEN_FLAG_BITS = {
    0x00000001: "rng",
    0x00000002: "write_protected",
    0x00000004: "login_required",
    0x00000008: "user_pin_initialized",
    0x00000020: "restore_key_not_needed",
    0x00000040: "clock_on_token",
    0x00000100: "protected_authentication_path",
    0x00000200: "dual_crypto_operations",
    0x00000400: "token_initialized",
    0x00000800: "secondary_authentication",
    0x00010000: "user_pin_count_low",
    0x00020000: "user_pin_final_try",
    0x00040000: "user_pin_locked",
    0x00080000: "user_pin_to_be_changed",
    0x00100000: "so_pin_count_low",
    0x00200000: "so_pin_final_try",
    0x00400000: "so_pin_locked",
    0x00800000: "so_pin_to_be_changed",
    0x01000000: "error_state",
}

# pkcs11-tool 0.23's words for the token flags it names.
PKCS11_TOOL_FLAG_WORDS = {
    "rng": "rng",
    "readonly": "write_protected",
    "login required": "login_required",
    "PIN initialized": "user_pin_initialized",
    "PIN pad present": "protected_authentication_path",
    "token initialized": "token_initialized",
    "user PIN count low": "user_pin_count_low",
    "final user PIN try": "user_pin_final_try",
    "user PIN locked": "user_pin_locked",
    "user PIN to be changed": "user_pin_to_be_changed",
    "SO PIN count low": "so_pin_count_low",
    "final SO PIN try": "so_pin_final_try",
    "SO PIN locked": "so_pin_locked",
    "SO PIN to be changed": "so_pin_to_be_changed",
}


def _token_flags_from_words(text):
    flags = set()
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        m = re.match(r"other flags=0x([0-9a-fA-F]+)", word)
        if m:
            value = int(m.group(1), 16)
            for bit, name in TOKEN_FLAG_BITS.items():
                if value & bit:
                    flags.add(name)
            continue
        if word not in PKCS11_TOOL_FLAG_WORDS:
            raise ToolError("pkcs11-tool printed an unknown token flag: %r" % word)
        flags.add(PKCS11_TOOL_FLAG_WORDS[word])
    return flags


def pkcs11_tool_slots(module, env=None):
    """Slots as `pkcs11-tool --list-slots` shows them: a list of dicts."""
    out, _, _ = run_tool(["pkcs11-tool", "--module", module, "--list-slots"], env=env)
    slots, cur = [], None
    for line in out.splitlines():
        m = re.match(r"^Slot \d+ \(0x([0-9a-fA-F]+)\):\s?(.*)$", line)
        if m:
            cur = {"id": int(m.group(1), 16), "description": m.group(2).strip(), "token": None}
            slots.append(cur)
            continue
        if cur is None:
            continue
        m = re.match(r"^\s+([a-zA-Z /]+?)\s*:\s?(.*)$", line)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2)
        if key == "token state" and value.strip() == "uninitialized":
            cur["uninitialized"] = True
        tok = cur.setdefault("token_fields", {})
        tok[key] = value
    for s in slots:
        t = s.pop("token_fields", {})
        if "token label" in t:
            s["token"] = {
                "label_raw": t["token label"],
                "manufacturer": t.get("token manufacturer", "").strip(),
                "model": t.get("token model", "").strip(),
                "serial": t.get("serial num", "").strip(),
                "flags": _token_flags_from_words(t.get("token flags", "")),
            }
    return slots


def pkcs11_tool_module_info(module, env=None):
    out, _, _ = run_tool(["pkcs11-tool", "--module", module, "--show-info"], env=env)
    info = {}
    m = re.search(r"Cryptoki version (\d+\.\d+)", out)
    info["cryptoki_version"] = m.group(1) if m else None
    m = re.search(r"Manufacturer\s+(.*)", out)
    info["manufacturer"] = m.group(1).strip() if m else None
    m = re.search(r"Library\s+(.*?) \(ver (\d+\.\d+)\)", out)
    info["description"] = m.group(1).strip() if m else None
    info["library_version"] = m.group(2) if m else None
    return info


def pkcs11_tool_objects(module, token_label, obj_type="cert", pin=None, env=None):
    """Objects `pkcs11-tool --list-objects --type T` lists: [{label, id, ...}]."""
    args = ["pkcs11-tool", "--module", module, "--token-label", token_label]
    if pin is not None:
        args += ["--login", "--pin", pin]
    args += ["--list-objects", "--type", obj_type]
    out, _, _ = run_tool(args, env=env)
    objects, cur = [], None
    for line in out.splitlines():
        if re.match(r"^\S.*Object", line):
            cur = {"kind": line.split(";")[0].strip(), "label": None, "id": ""}
            objects.append(cur)
            continue
        m = re.match(r"^\s+(label|ID|subject|serial):\s*(.*)$", line)
        if m and cur is not None:
            key = m.group(1).lower()
            val = m.group(2)
            if key == "label":
                # pkcs11-tool prints the label after a fixed indent; keep inner blanks.
                val = re.sub(r"^\s*label:\s{0,6}", "", line)
            cur[key] = val.strip() if key != "label" else val
    return objects


def p11tool_tokens(module, env=None):
    out, _, _ = run_tool(["p11tool", "--provider", module, "--list-tokens"], env=env)
    tokens, cur = [], None
    for line in out.splitlines():
        if re.match(r"^Token \d+:", line):
            cur = {}
            tokens.append(cur)
            continue
        m = re.match(r"^\t(\w[\w ]*?):\s?(.*)$", line)
        if m and cur is not None:
            cur[m.group(1)] = m.group(2)
    return tokens


def p11tool_mechanisms(module, token_uri, env=None):
    out, _, _ = run_tool(
        ["p11tool", "--provider", module, "--list-mechanisms", token_uri], env=env
    )
    mechs = []
    for line in out.splitlines():
        m = re.match(r"^\[0x([0-9a-fA-F]+)\]\s+(\S+)(.*)$", line)
        if not m:
            continue
        rest = m.group(3)
        rng = re.search(r"keysize range \((\d+), (\d+)\)", rest)
        words = re.sub(r"keysize range \(\d+, \d+\)", "", rest).split()
        mechs.append(
            {
                "id": int(m.group(1), 16),
                "name": m.group(2),
                "min_key_size": int(rng.group(1)) if rng else None,
                "max_key_size": int(rng.group(2)) if rng else None,
                "flags": set(words),
            }
        )
    return mechs


# PKCS#11 3.0 section 5.10, CK_MECHANISM_INFO flags.
MECHANISM_FLAG_BITS = {
    0x1: "hw", 0x2: "message_encrypt", 0x4: "message_decrypt", 0x8: "message_sign",
    0x10: "message_verify", 0x20: "multi_message", 0x40: "find_objects", 0x100: "encrypt",
    0x200: "decrypt", 0x400: "digest", 0x800: "sign", 0x1000: "sign_recover",
    0x2000: "verify", 0x4000: "verify_recover", 0x8000: "generate",
    0x10000: "generate_key_pair", 0x20000: "wrap", 0x40000: "unwrap", 0x80000: "derive",
    0x100000: "ec_f_p", 0x200000: "ec_f_2m", 0x400000: "ec_ecparameters",
    0x800000: "ec_namedcurve", 0x1000000: "ec_uncompress", 0x2000000: "ec_compress",
    0x4000000: "ec_curvename", 0x80000000: "extension",
}

# pkcs11-tool 0.23's words for the mechanism flags it names.
PKCS11_TOOL_MECHANISM_WORDS = {
    "EC F_P": "ec_f_p", "EC F_2M": "ec_f_2m", "EC parameters": "ec_ecparameters",
    "EC OID": "ec_namedcurve", "EC uncompressed": "ec_uncompress",
    "EC compressed": "ec_compress", "EC curve name": "ec_curvename",
}


def pkcs11_tool_mechanisms(module, token_label, env=None):
    """Mechanisms in the module's order, with key sizes and flags as pkcs11-tool shows them.

    (p11tool 3.7.9 names mechanisms well but misreports some flags, e.g. sign/verify for
    CKM_AES_CTR whose CK_MECHANISM_INFO.flags are 0x300, so flags come from here.)"""
    out, _, _ = run_tool(
        ["pkcs11-tool", "--module", module, "--token-label", token_label, "--list-mechanisms"],
        env=env,
    )
    mechs = []
    for line in out.splitlines():
        if not line.startswith("  "):
            continue
        line = re.sub(r"keySize=\{(\d+),(\d+)\}", r"keySize=\1:\2", line)
        parts = [p.strip() for p in line.split(",")]
        entry = {"name": parts[0], "min_key_size": None, "max_key_size": None, "flags": set()}
        for word in parts[1:]:
            m = re.fullmatch(r"keySize=(\d+):(\d+)", word)
            if m:
                entry["min_key_size"], entry["max_key_size"] = int(m.group(1)), int(m.group(2))
                continue
            m = re.fullmatch(r"other flags=0x([0-9a-fA-F]+)", word)
            if m:
                value = int(m.group(1), 16)
                entry["flags"] |= {n for b, n in MECHANISM_FLAG_BITS.items() if value & b}
                continue
            flag = PKCS11_TOOL_MECHANISM_WORDS.get(word, word)
            if flag not in MECHANISM_FLAG_BITS.values():
                raise ToolError("pkcs11-tool printed an unknown mechanism flag: %r" % word)
            entry["flags"].add(flag)
        mechs.append(entry)
    return mechs


def p11tool_list_certs(module, uri, env=None):
    """URLs of the certificates p11tool finds for a pkcs11: URI."""
    out, _, rc = run_tool(
        ["p11tool", "--provider", module, "--list-all-certs", uri], env=env, check=False
    )
    return re.findall(r"^\s*URL:\s*(\S+)", out, re.M)


# ---------------------------------------------------------------------------
# RFC 7512 pkcs11: URIs.


def parse_pkcs11_uri(uri):
    """{attribute: decoded bytes} of a URI's path part; raises ValueError if malformed."""
    if not uri.startswith("pkcs11:"):
        raise ValueError("not a pkcs11: URI: %r" % uri)
    body = uri[len("pkcs11:") :]
    path = body.split("?", 1)[0]
    attrs = {}
    if not path:
        return attrs
    for part in path.split(";"):
        if "=" not in part:
            raise ValueError("path attribute without '=': %r" % part)
        name, value = part.split("=", 1)
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise ValueError("bad attribute name %r" % name)
        if re.search(r"%(?![0-9A-Fa-f]{2})", value):
            raise ValueError("bad percent-encoding in %r" % value)
        # RFC 7512 2.3: these may appear literally; everything else is pct-encoded.
        if re.search(r"[^A-Za-z0-9\-._~%:\[\]@!$'()*+,=&]", value):
            raise ValueError("character that must be percent-encoded in %r" % value)
        attrs[name] = urllib.parse.unquote_to_bytes(value)
    return attrs


# ---------------------------------------------------------------------------
# Running cactool.


def fault_module_or_skip():
    """The built fault module (tests/testbed/fault/), as meson names it in
    CACTOOL_FAULT_PKCS11, for a test class's setUpClass: the class is skipped without it."""
    path = os.environ.get("CACTOOL_FAULT_PKCS11")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("CACTOOL_FAULT_PKCS11 does not name the built fault module")
    return path


def cactool_path():
    path = os.environ.get("CACTOOL")
    if not path:
        raise RuntimeError("CACTOOL is not set; meson sets it to the built binary")
    return path


def clean_env(base=None, **extra):
    """An environment without the variables that change cactool's behaviour."""
    env = dict(base if base is not None else os.environ)
    for k in ("PKCS11_LIB_PATH", "CAC_DEBUG", "CAC_CARD_TIMEOUT", "CACTOOL_JOURNAL", "NO_COLOR"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.stdout_bytes = proc.stdout
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")

    def describe(self):
        return "cactool %s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.args),
            self.rc,
            self.stdout[:4000],
            self.stderr[:4000],
        )

    def json(self):
        """stdout as exactly one JSON document, keys in order."""
        return json.loads(self.stdout, object_pairs_hook=_ordered)


class _OrderedDict(dict):
    pass


def _ordered(pairs):
    d = _OrderedDict(pairs)
    d.key_order = [k for k, _ in pairs]
    return d


def run_cactool(args, env, input_bytes=None, exe=None, timeout=120):
    exe = exe or cactool_path()
    proc = subprocess.run(
        [exe] + [str(a) for a in args],
        input=input_bytes if input_bytes is not None else b"",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
    )
    return Result([str(a) for a in args], proc)
