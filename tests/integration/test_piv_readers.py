"""`cactool readers` and the global --reader option on the PC/SC test bed.

Expected values: the ATR the card's profile gives (card.json), the reader names pcscd
gives to opensc-tool --list-readers, the bed's own control channel (which reader holds the
card, card removed, pcscd stopped), and SPEC.md's exit codes.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

# One vpcd entry gives two PC/SC readers: the card's and an empty second slot.
testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase  # noqa: E402


def opensc_reader_names():
    """Reader names as opensc-tool lists them (its table: number, card, features, name)."""
    out, _, _ = testlib.run_tool(["opensc-tool", "--list-readers"])
    names = []
    for line in out.splitlines():
        match = re.match(r"^(\d+)\s+(Yes|No)\s+(.*)$", line)
        if match:
            # The features column is empty for vpcd; the name is what remains.
            names.append(match.group(3).strip())
    return names


class Readers(CactoolTestCase):
    # The bed needs no SoftHSM2 fixture: only the built binary.
    setUpClass = classmethod(lambda cls: testlib.cactool_path())

    def setUp(self):
        testbed.cardctl("pcscd", "start", check=False)
        testbed.restore_card()

    def run_readers(self, *args):
        return testlib.run_cactool(list(args), testlib.clean_env())

    def by_name(self, doc):
        return {reader["name"]: reader for reader in doc["readers"]}

    def test_the_cards_reader_shows_the_profiles_atr(self):
        doc = self.json_of(self.run_readers("readers", "--json"))
        reader = self.by_name(doc)[testbed.reader_name()]
        self.assertEqual(reader["state"], "present")
        self.assertEqual(reader["atr"], testbed.manifest()["atr"].lower())
        self.assertEqual(sorted(reader["card"]), ["identified_as", "type"])
        self.assertEqual(list(reader), ["index", "name", "state", "atr", "card", "features"])

    def test_the_second_slot_is_empty(self):
        doc = self.json_of(self.run_readers("readers", "--json"))
        others = [r for r in doc["readers"] if r["name"] != testbed.reader_name()]
        self.assertEqual(len(others), 1, doc)
        self.assertEqual(others[0]["state"], "empty")
        self.assertIsNone(others[0]["atr"])

    def test_same_names_and_order_as_opensc_tool(self):
        expected = opensc_reader_names()
        self.assertEqual(len(expected), 2, expected)
        doc = self.json_of(self.run_readers("readers", "--json"))
        self.assertEqual([r["name"] for r in doc["readers"]], expected)
        self.assertEqual([r["index"] for r in doc["readers"]], list(range(len(expected))))

    def test_removed_card_gives_empty_and_no_atr(self):
        testbed.cardctl("remove")
        testbed.cardctl("wait", "absent", "--timeout", "10")
        doc = self.json_of(self.run_readers("readers", "--json"))
        reader = self.by_name(doc)[testbed.reader_name()]
        self.assertEqual(reader["state"], "empty")
        self.assertIsNone(reader["atr"])
        self.assertIsNone(reader["card"])

    def test_text_output_is_a_table_naming_each_reader(self):
        result = self.run_readers("readers")
        self.assertExit(result, 0)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["#", "READER", "STATE", "ATR", "CARD"])
        card_line = [line for line in lines if testbed.reader_name() in line]
        self.assertEqual(len(card_line), 1, result.describe())
        self.assertIn(testbed.manifest()["atr"].lower(), card_line[0])
        # Aligned: the card's state sits under the STATE heading.
        self.assertTrue(card_line[0][lines[0].index("STATE"):].startswith("present"))

    def selected(self, wanted):
        return self.run_readers("--reader", wanted, "readers", "--json")

    def test_reader_by_index_name_and_substring(self):
        names = opensc_reader_names()
        for wanted, expected in [("1", names[1]), ("0", names[0]), (names[1], names[1]),
                                 (names[0][-5:], names[0])]:
            doc = self.json_of(self.selected(wanted))
            self.assertEqual([r["name"] for r in doc["readers"]], [expected], wanted)

    def test_ambiguous_or_unknown_reader_exits_3_naming_candidates(self):
        names = opensc_reader_names()
        common = os.path.commonprefix(names)
        self.assertTrue(common, names)
        for wanted in [common, "no such reader", "2"]:
            result = self.selected(wanted)
            self.assertErrorDocument(result, 3)
            message = result.json()["error"]["message"]
            for name in names:
                self.assertIn(name, message, wanted)

    def test_pcscd_stopped_exits_6_with_a_hint_to_start_it(self):
        testbed.cardctl("pcscd", "stop")
        try:
            result = self.run_readers("readers")
            self.assertExit(result, 6)
            self.assertIn("pcscd", result.stderr)
            self.assertIn("start", result.stderr)
        finally:
            testbed.cardctl("pcscd", "start")


if __name__ == "__main__":
    unittest.main(verbosity=2)
