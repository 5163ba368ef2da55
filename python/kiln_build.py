"""In-tree PEP 517 / PEP 660 build backend of the kiln package.

It needs nothing but the standard library, so `pip install python/` and
`pip install -e python/` work without network access (pip's isolated build
environment would otherwise download setuptools). It builds a pure-Python
wheel of kiln/*.py; the editable wheel holds only a kiln.pth file pointing
at this directory.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "kiln"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "py3-none-any"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"

METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: Kiln from Python: compile transformer models ahead of time, load and run them, export from PyTorch
Requires-Python: >=3.9
Requires-Dist: numpy
Provides-Extra: torch
Requires-Dist: torch; extra == "torch"
Provides-Extra: test
Requires-Dist: pytest; extra == "test"
Requires-Dist: torch; extra == "test"
"""
WHEEL = f"""Wheel-Version: 1.0
Generator: kiln_build
Root-Is-Purelib: true
Tag: {TAG}
"""
ENTRY_POINTS = """[console_scripts]
kiln = kiln.cli:main
"""


def _package_files():
    root = os.path.join(HERE, NAME)
    return sorted(os.path.join(NAME, f) for f in os.listdir(root) if f.endswith(".py"))


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_wheel(directory, files):
    """files: [(archive name, bytes)]; adds the dist-info and RECORD."""
    files = list(files) + [(f"{DIST_INFO}/METADATA", METADATA.encode()),
                           (f"{DIST_INFO}/WHEEL", WHEEL.encode()),
                           (f"{DIST_INFO}/entry_points.txt", ENTRY_POINTS.encode())]
    record = "".join(f"{name},{_digest(data)},{len(data)}\n" for name, data in files)
    record += f"{DIST_INFO}/RECORD,,\n"
    files.append((f"{DIST_INFO}/RECORD", record.encode()))
    wheel_name = f"{NAME}-{VERSION}-{TAG}.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return wheel_name


def _metadata_dir(directory):
    path = os.path.join(directory, DIST_INFO)
    os.makedirs(path, exist_ok=True)
    for name, text in (("METADATA", METADATA), ("WHEEL", WHEEL),
                       ("entry_points.txt", ENTRY_POINTS)):
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    return DIST_INFO


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _metadata_dir(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _metadata_dir(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for rel in _package_files():
        with open(os.path.join(HERE, rel), "rb") as f:
            files.append((rel.replace(os.sep, "/"), f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"{NAME}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as archive:
        for rel in ["pyproject.toml", "kiln_build.py"] + _package_files():
            archive.add(os.path.join(HERE, rel), arcname=f"{base}/{rel}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = METADATA.encode()
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return name
