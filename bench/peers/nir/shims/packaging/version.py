"""Minimal stand-in for packaging.version: numeric release tuple comparison."""
import re


class Version(tuple):
    def __new__(cls, s):
        m = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(s))
        parts = tuple(int(p) for p in m.group(1).split(".")) if m else (0,)
        # pad so that 1.13 == 1.13.0
        parts = parts + (0,) * (4 - len(parts))
        return super().__new__(cls, parts)


def parse(s):
    return Version(s)
