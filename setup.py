"""Packaging is declared in pyproject.toml; this file adds only the seed documents.

It also keeps ``scrapyd-deploy`` from writing a setup.py of its own: it builds its egg with
``python setup.py bdist_egg``. The seed documents live at the top of the checkout (``seeds/``),
outside any package; every built package (egg, wheel) carries them as ``crawler/seeds/`` so that a
crawl started from another folder, such as a Scrapyd job, still finds them
(``crawler.params.packaged_seeds``).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SEEDS = Path(__file__).resolve().parent / "seeds"


class BuildPyWithSeeds(build_py):
    """build_py that also copies ``seeds/*.txt`` into the built ``crawler/seeds/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, whose seeds/ is the default folder
        target = Path(self.build_lib, "crawler", "seeds")
        self.mkpath(str(target))
        for seed in sorted(SEEDS.glob("*.txt")):
            self.copy_file(str(seed), str(target / seed.name))


setup(cmdclass={"build_py": BuildPyWithSeeds})
