"""What pyproject.toml cannot yet say without an experimental table: roku_feed's C scanner.

`roku_feed._locate` places findings at their line and column (see roku_feed/positions.py). It
is optional: without a C compiler the package installs all the same, and roku_feed.positions
walks the text in Python instead, with the same answers, several times slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("roku_feed._locate", ["roku_feed/_locate.c"], optional=True)])
