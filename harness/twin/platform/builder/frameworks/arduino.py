"""Arduino framework of the hil-twin platform: the host core as a library.

The core (harness/twin/core, found relative to this platform) is compiled with
an environment of its own: only its own include path and the board's
personality defines, never the project's build_flags. So a new generated
scenario header changes the sketch's command line only, and the core objects
in the build dir are reused on every warm build.
"""

import os
import shlex

from SCons.Script import Import

Import("env")

platform = env.PioPlatform()
board = env.BoardConfig()
# platform dir = harness/twin/platform (a symlink:// package); the core is a sibling.
core_dir = os.path.realpath(os.path.join(platform.get_dir(), "..", "core"))
if not os.path.isfile(os.path.join(core_dir, "Arduino.h")):
    raise SystemExit(f"hil-twin: host core not found at {core_dir}")

personality = [f[2:] for f in shlex.split(board.get("build.extra_flags", "")) if f.startswith("-D")]
core_defines = []
for d in personality:
    name, _, value = d.partition("=")
    core_defines.append((name, value) if value else name)

env.Append(CPPPATH=[core_dir], LIBS=["bearssl"])

core_env = env.Clone()
core_env.Replace(CPPPATH=[core_dir], CPPDEFINES=core_defines)
core_lib = core_env.BuildLibrary(os.path.join("$BUILD_DIR", "FrameworkArduino"), core_dir)

# The core must come before -lbearssl on the link line.
env.Prepend(LIBS=[core_lib])
