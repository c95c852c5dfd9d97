"""SCons entry of the hil-twin platform: a host program named `program`.

PlatformIO's own BuildProgram() does the .ino -> .cpp conversion and calls the
framework script (builder/frameworks/arduino.py), which adds the twin core.
"""

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()

env.Replace(
    CC="gcc",
    CXX="g++",
    AR="ar",
    RANLIB="ranlib",
    LINK="g++",
    PROGNAME="program",
    PROGSUFFIX="",
    SIZETOOL=None,
)

env.Append(
    CCFLAGS=["-O1", "-g", "-Wall", "-fno-common"],
    CFLAGS=["-std=gnu11"],
    CXXFLAGS=["-std=gnu++17"],
)

program = env.BuildProgram()
Default(program)
