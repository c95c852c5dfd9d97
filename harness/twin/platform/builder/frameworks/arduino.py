"""Arduino framework of the hil-twin platform: the host core as libraries.

The core (harness/twin/core, found relative to this platform) is common code
(core/common) plus one folder per personality (core/<build.personality> of the
board, e.g. esp8266_axtls). Both are compiled with an environment of their own:
only the core's include paths, the board's defines and the generated core
configuration (custom_hil_core_config, a folder with hil_core_config.h made by
the harness from the core release data), never the project's build_flags. So a
new scenario header changes the sketch's command line only, and the core
objects in the build dir are reused on every warm build.
"""

import os
import shlex

from SCons.Script import Import

Import("env")

platform = env.PioPlatform()
board = env.BoardConfig()
# platform dir = harness/twin/platform (a symlink:// package); the core is a sibling.
core_dir = os.path.realpath(os.path.join(platform.get_dir(), "..", "core"))
common_dir = os.path.join(core_dir, "common")
if not os.path.isfile(os.path.join(common_dir, "Arduino.h")):
    raise SystemExit(f"hil-twin: host core not found at {common_dir}")
personality = board.get("build.personality", "")
personality_dir = os.path.join(core_dir, personality)
if not personality or not os.path.isdir(personality_dir):
    raise SystemExit(
        f"hil-twin: board {board.id} names personality {personality!r}, "
        f"which has no folder in {core_dir}"
    )

# The release's other classes (core 2.4.2: BearSSL::WiFiClientSecure beside the axTLS
# default): each is built with its own configuration, <config>/<personality>/.
extras = board.get("build.extra_personalities", "").split()
for extra in extras:
    if not os.path.isdir(os.path.join(core_dir, extra)):
        raise SystemExit(f"hil-twin: board {board.id} names extra personality {extra!r}")

include_dirs = [common_dir, personality_dir]
config_dir = env.GetProjectOption("custom_hil_core_config", "")
if config_dir:
    for sub in ["", *extras]:
        if not os.path.isfile(os.path.join(config_dir, sub, "hil_core_config.h")):
            raise SystemExit(f"hil-twin: no hil_core_config.h in {os.path.join(config_dir, sub)}")
    include_dirs.insert(0, config_dir)

core_defines = []
for flag in shlex.split(board.get("build.extra_flags", "")):
    if flag.startswith("-D"):
        name, _, value = flag[2:].partition("=")
        core_defines.append((name, value) if value else name)

# A TLS library outside the system's folders (mbedTLS 3 from `hil setup`): its headers
# come before the system's (-I is searched before /usr/include), its libraries too (-L).
library_include = board.get("build.cpppath", "")
if library_include:
    include_dirs.append(library_include)
library_dir = board.get("build.libpath", "")

libs = [lib for lib in board.get("build.libs", "bearssl").split() if lib]
# The sketch sees the default class's headers first (its <WiFiClientSecure.h>), then
# the extra classes' own headers (<WiFiClientSecureBearSSL.h>).
env.Append(CPPPATH=include_dirs + [os.path.join(core_dir, x) for x in extras], LIBS=libs)
if library_dir:
    env.Prepend(LIBPATH=[library_dir])

core_env = env.Clone()
core_env.Replace(CPPPATH=include_dirs, CPPDEFINES=core_defines)
core_libs = [
    core_env.BuildLibrary(os.path.join("$BUILD_DIR", "FrameworkCommon"), common_dir),
    core_env.BuildLibrary(os.path.join("$BUILD_DIR", "Framework_" + personality), personality_dir),
]

extra_libs = []
for extra in extras:
    extra_env = env.Clone()
    extra_dirs = [common_dir, os.path.join(core_dir, extra)]
    if config_dir:
        extra_dirs.insert(0, os.path.join(config_dir, extra))
    extra_env.Replace(CPPPATH=extra_dirs, CPPDEFINES=core_defines)
    extra_libs.append(
        extra_env.BuildLibrary(
            os.path.join("$BUILD_DIR", "Framework_" + extra), os.path.join(core_dir, extra)
        )
    )

# The personalities use the common code; all must come before the TLS libraries.
env.Prepend(LIBS=[core_libs[1], *extra_libs, core_libs[0]])
