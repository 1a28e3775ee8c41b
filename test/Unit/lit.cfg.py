# lit runs llmc's gtest binaries (build/unittests) as one suite.

import os

import lit.formats

config.name = "LLMC-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.llmc_obj_root, "unittests")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
