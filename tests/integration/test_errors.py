#!/usr/bin/python3
"""Failures of the environment and of the user: modules that are missing or are not
PKCS#11, broken config files, bad options; exit codes, messages and the JSON error
document."""

import json
import os
import re
import tempfile
import unittest
from pathlib import Path

import base
import softhsm_fixture as sf
import testlib


class ErrorsTest(base.CactoolTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-errors-")
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def assertModuleFailure(self, module, subcommand="slots"):
        r = self.cactool(subcommand, "--module", module)
        self.assertExit(r, 6)
        self.assertTrue(r.stderr.strip(), "a message on stderr\n" + r.describe())
        self.assertEqual(r.stdout.strip(), "", "nothing on stdout when the module fails")
        self.assertIn(os.path.basename(str(module)), r.stderr, "the message names the module")
        err = self.assertErrorDocument(self.cactool(subcommand, "--module", module, "--json"), 6)
        return r, err

    def test_module_path_that_does_not_exist(self):
        missing = self.dir / "no-such-pkcs11-module.so"
        for sub in ("slots", "certs", "login"):
            with self.subTest(subcommand=sub):
                self.assertModuleFailure(missing, sub)

    def test_shared_library_that_is_not_pkcs11(self):
        libz = testlib.find_shared_library("libz.so")
        if libz is None:
            self.skipTest("no libz on this machine")
        r, err = self.assertModuleFailure(libz)
        self.assertIn("C_GetFunctionList", r.stderr + err["message"] + (err["hint"] or ""),
                      "the message says what the library lacks")

    def test_file_that_is_not_a_shared_library(self):
        fake = self.dir / "fake-module.so"
        fake.write_text("this is not an ELF file\n")
        self.assertModuleFailure(fake)

    def test_module_whose_dependency_is_missing(self):
        # A real PKCS#11 entry point in a library that needs another library, which is
        # then removed: the loader's own complaint must reach the operator.
        if testlib.require_tools("cc"):
            self.skipTest("no C compiler to build the test libraries")
        dep_c, mod_c = self.dir / "dep.c", self.dir / "mod.c"
        dep_c.write_text("int cactool_test_dependency(void) { return 0; }\n")
        mod_c.write_text("int cactool_test_dependency(void);\n"
                         "long C_GetFunctionList(void **list) {\n"
                         "    *list = 0; return cactool_test_dependency(); }\n")
        dep = self.dir / "libcactooltestdep.so"
        module = self.dir / "needs-dep-pkcs11.so"
        testlib.run_tool(["cc", "-shared", "-fPIC", "-o", str(dep), str(dep_c)])
        testlib.run_tool(["cc", "-shared", "-fPIC", "-o", str(module), str(mod_c),
                          "-L", str(self.dir), "-lcactooltestdep"])
        dep.unlink()
        r, err = self.assertModuleFailure(module)
        self.assertIn("libcactooltestdep.so", r.stderr, "the loader names the missing library")
        self.assertIn("ldd", (err["hint"] or "") + r.stderr, "the hint suggests ldd")

    def test_module_whose_initialisation_fails(self):
        # SoftHSM2 refuses C_Initialize when its configuration file cannot be read.
        env = dict(self.hsm.env, SOFTHSM2_CONF=str(self.dir / "missing-softhsm2.conf"))
        r = self.cactool("slots", "--module", self.hsm.module, env=env)
        self.assertExit(r, 6)
        self.assertIn("C_Initialize", r.stderr, "the message names the failing call")
        err = self.assertErrorDocument(
            self.cactool("slots", "--module", self.hsm.module, "--json", env=env), 6)
        self.assertEqual(err["name"], "CACTOOL_MODULE_INIT_FAILED")

    def test_unknown_module_name(self):
        r = self.cactool("slots", "--module", "no-such-p11kit-module-name")
        # SPEC.md: a module that is missing is "middleware unavailable".
        self.assertExit(r, 6)
        self.assertTrue(r.stderr.strip())

    def test_json_error_document_shape(self):
        r = self.cactool("slots", "--module", self.dir / "missing.so", "--json")
        err = self.assertErrorDocument(r, 6)
        self.assertEqual(list(r.json().keys()), ["schema_version", "error"])
        self.assertIsInstance(err["recovery"]["attempted"], bool)
        self.assertIn(err["severity"], ("info", "warning", "error", "critical", "fatal"),
                      "severity %r" % err["severity"])

    def test_malformed_config_names_the_line(self):
        config = self.dir / "config.json"
        config.write_text('{\n  "module": "softhsm2",\n  "timeout_seconds": ,\n  "x": 1\n}\n')
        for extra in ([], ["--json"]):
            with self.subTest(extra=extra):
                r = self.cactool("slots", "--config", config, *extra)
                self.assertExit(r, 2)
                text = r.stderr + r.stdout
                self.assertRegex(text, r"(?i)(line\s*3\b|:3:|:3\b)",
                                 "the message names line 3\n" + r.describe())

    def test_malformed_config_in_xdg_config_home(self):
        (self.dir / "cactool").mkdir()
        (self.dir / "cactool" / "config.json").write_text('{"module": "softhsm2"\n')
        env = dict(self.hsm.env, XDG_CONFIG_HOME=self.dir)
        r = self.cactool("slots", "--module", self.hsm.module, env=env)
        self.assertExit(r, 2)
        self.assertIn("config.json", r.stderr)

    def test_unknown_config_key_is_a_warning(self):
        config = self.dir / "config.json"
        config.write_text(json.dumps({"module": self.hsm.module,
                                      "frobnicate_level": 3}, indent=2))
        r = self.cactool("slots", "--config", config, "--json")
        doc = self.json_of(r)
        self.assertIn("frobnicate_level", r.stderr, "the warning names the unknown key")
        self.assertEqual(os.path.realpath(doc["modules"][0]["path"]),
                         os.path.realpath(self.hsm.module), "the config's module is used")

    def test_config_module_by_name(self):
        config = self.dir / "config.json"
        config.write_text(json.dumps({"module": "softhsm2"}))
        doc = self.json_of(self.cactool("slots", "--config", config, "--json"))
        self.assertEqual(os.path.realpath(doc["modules"][0]["path"]),
                         os.path.realpath(self.hsm.module))

    def test_unknown_option_and_subcommand(self):
        self.assertExit(self.cactool("slots", "--no-such-option"), 2)
        r = self.cactool("slotz")
        self.assertExit(r, 2)
        self.assertIn("slots", r.stderr, "did you mean 'slots'")

    def test_bad_option_values(self):
        self.assertExit(self.cactool("slots", "--module", self.hsm.module, "--color", "pink"), 2)
        self.assertExit(self.cactool("slots", "--module", self.hsm.module, "--timeout", "soon"),
                        2)
        self.assertExit(self.cactool("certs", "--module", self.hsm.module, "--token", sf.MAIN,
                                     "--format", "jpeg", "--export", self.dir), 2)
        self.assertExit(self.cactool("certs", "--module", self.hsm.module, "--token", sf.MAIN,
                                     "--validate", "--at", "yesterday"), 2)

    def test_a_zero_timeout_is_refused_from_each_source_naming_it(self):
        # cactool(1): the three sources share one range, above 0 and at most 3600.
        config = self.dir / "config.json"
        config.write_text('{\n  "module": "softhsm2",\n  "timeout_seconds": 0\n}\n')
        env = dict(self.hsm.env, CAC_CARD_TIMEOUT="0")
        cases = [
            (["--timeout", "0"], self.hsm.env, "--timeout"),
            ([], env, "CAC_CARD_TIMEOUT"),
            (["--config", config], self.hsm.env, "timeout_seconds"),
        ]
        for extra, run_env, source in cases:
            with self.subTest(source=source):
                r = self.cactool("slots", "--module", self.hsm.module, *extra, env=run_env)
                self.assertExit(r, 2)
                self.assertIn(source, r.stderr)
                self.assertIn("above 0", r.stderr)
        self.assertIn("config.json:3", self.cactool("slots", "--module", self.hsm.module,
                                                    "--config", config).stderr)
        # The same values one step inside the range are taken.
        config.write_text('{"timeout_seconds": 3600}')
        for extra, run_env in ((["--timeout", "3600"], self.hsm.env),
                               ([], dict(self.hsm.env, CAC_CARD_TIMEOUT="0.5")),
                               (["--config", config], self.hsm.env)):
            self.json_of(self.cactool("slots", "--module", self.hsm.module, "--json", *extra,
                                      env=run_env))

    def test_version_and_help(self):
        r = self.cactool("--version")
        self.assertExit(r, 0)
        meson = (Path(__file__).resolve().parents[2] / "meson.build").read_text()
        version = re.search(r"version:\s*'([^']+)'", meson).group(1)
        self.assertIn(version, r.stdout, "--version prints the project's version")
        r = self.cactool("--help")
        self.assertExit(r, 0)
        for sub in ("slots", "certs", "login"):
            self.assertIn(sub, r.stdout)


if __name__ == "__main__":
    base.main()
