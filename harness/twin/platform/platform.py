"""The `hil-twin` PlatformIO dev platform: host gcc, no packages to install.

Everything the build needs (the host compiler, libbearssl) comes from the
system, so the platform works offline; the builder scripts do the work.
"""

from platformio.public import PlatformBase


class HiltwinPlatform(PlatformBase):
    def is_embedded(self):
        # A host program: no upload, no size limits that mean anything.
        return False
