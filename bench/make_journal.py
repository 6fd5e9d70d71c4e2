#!/usr/bin/python3
"""Writes an error journal of COUNT records for bench/errors-report.sh.

    make_journal.py PATH COUNT

Lines follow the format src/core/recovery/journal.hpp fixes (compact, keys in order).
The records are a deterministic mix of the failures a fleet of workstations meets:
removed cards, resets, pcscd gone, wrong PINs and module errors, in eight operations,
on four readers and two modules, half of them with recovery attempts; one record every
100 ms from 2026-11-01, so the journal spans about a day per 860,000 records.
Standard library only.
"""

import datetime
import json
import random
import sys

CODES = [  # name, value, domain, category, severity, action
    ("CKR_DEVICE_REMOVED", 0x32, "pkcs11", "card_state", "error", "reopen_session"),
    ("SCARD_W_RESET_CARD", 0x80100068, "pcsc", "card_state", "warning", "reconnect"),
    ("SCARD_W_REMOVED_CARD", 0x80100069, "pcsc", "card_state", "error", "reconnect"),
    ("SCARD_E_NO_SERVICE", 0x8010001D, "pcsc", "middleware", "error", "reestablish_context"),
    ("CKR_PIN_INCORRECT", 0xA0, "pkcs11", "authentication", "error", "user_action"),
    ("CKR_SESSION_HANDLE_INVALID", 0xB3, "pkcs11", "token", "error", "reopen_session"),
]
OPERATIONS = ["C_FindObjects", "C_GetAttributeValue", "C_Login", "C_OpenSession",
              "SCardTransmit", "SCardConnect", "SCardEstablishContext", "SELECT"]
READERS = [None, "Virtual PCD 00 00", "Virtual PCD 00 01", "Yubico YubiKey CCID 00 00"]
MODULES = ["/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
           "/usr/lib/x86_64-linux-gnu/libykcs11.so"]


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(5)
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    step = datetime.timedelta(milliseconds=100)
    # Every line but its time is drawn from a few hundred variants, built once.
    variants = []
    for _ in range(512):
        name, value, domain, category, severity, action = rng.choice(CODES)
        recovery = rng.random() < 0.5
        attempt = rng.choice([1, 1, 2, 3]) if recovery else 0
        outcome = rng.choice(["failed", "recovered"]) if recovery else "gave_up"
        operation = rng.choice(OPERATIONS)
        rest = {
            "pid": rng.randint(1000, 60000), "version": "0.1.0", "subcommand": "certs",
            "kind": "recovery" if recovery else "error", "operation": operation,
            "code": name, "value": value, "domain": domain, "category": category,
            "severity": severity, "action": action, "attempt": attempt, "outcome": outcome,
            "duration_ms": round(rng.uniform(0.5, 900), 1), "reader": rng.choice(READERS),
            "slot": "0", "token_label": "PIV_II", "token_serial": "1234567890abcdef",
            "module": rng.choice(MODULES), "message": "failed to %s: %s" % (operation, name),
        }
        variants.append(json.dumps(rest, separators=(",", ":"))[1:])
    with open(path, "w", encoding="utf-8") as out:
        when = start
        batch = []
        for i in range(count):
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)
            batch.append('{"time":"%s",%s\n' % (stamp, variants[rng.randrange(512)]))
            when += step
            if len(batch) == 10000:
                out.writelines(batch)
                batch.clear()
        out.writelines(batch)


if __name__ == "__main__":
    main()
