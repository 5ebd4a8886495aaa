"""Package layout for setuptools; everything else about the project is in pyproject.toml.

One installed namespace, `curator`, is assembled from several top-level folders of the
repository (store/ becomes curator.store, screens/ curator.screens, sample_data/
curator.sample_data). pyproject.toml's `packages.find` cannot rename folders, and a hand-written
package list silently drops a new subpackage from the wheel (it once shipped without
curator/judges and curator/export), so the list is found here, under each mapped folder.
A test builds the wheel and checks its file list.
"""

from setuptools import find_packages, setup

# installed package -> folder in the repository
PACKAGE_DIR = {
    "curator": "curator",
    "curator.store": "store",
    "curator.screens": "screens",
    "curator.sample_data": "sample_data",
}


def _packages() -> list[str]:
    found: list[str] = []
    for package, folder in PACKAGE_DIR.items():
        found.append(package)
        found.extend(f"{package}.{sub}" for sub in find_packages(folder))
    return found


setup(package_dir=PACKAGE_DIR, packages=_packages())
