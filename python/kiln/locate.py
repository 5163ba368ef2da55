"""Where the kiln package finds libkiln_runtime.so and the kiln-* tools.

The runtime library, first match wins:
  1. $KILN_RUNTIME_LIB (the path of the .so; an error if it does not exist)
  2. $KILN_TOOLS_DIR/../lib/libkiln_runtime.so  (next to the tools)
  3. <dir of kiln-compile on $PATH>/../lib/libkiln_runtime.so
  4. $KILN_BUILD_DIR/lib, then the source tree's build/lib (this file is
     python/kiln/locate.py of a Kiln checkout)
  5. the system loader (LD_LIBRARY_PATH, ldconfig): libkiln_runtime.so

A tool (kiln-compile, kiln-run): $KILN_TOOLS_DIR, $PATH, then the bin/
directories of 4.
"""

import os
import shutil

from kiln.errors import RuntimeLibraryNotFound, ToolNotFound

RUNTIME_LIB_NAME = "libkiln_runtime.so"
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _build_dirs():
    dirs = []
    if os.environ.get("KILN_BUILD_DIR"):
        dirs.append(os.environ["KILN_BUILD_DIR"])
    dirs.append(os.path.join(_REPO_ROOT, "build"))
    return dirs


def runtime_library_candidates():
    """[(description, path or bare name)] in search order."""
    out = []
    tools_dir = os.environ.get("KILN_TOOLS_DIR")
    if tools_dir:
        out.append(("$KILN_TOOLS_DIR/../lib",
                    os.path.join(tools_dir, os.pardir, "lib", RUNTIME_LIB_NAME)))
    on_path = shutil.which("kiln-compile")
    if on_path:
        out.append(("next to kiln-compile on $PATH",
                    os.path.join(os.path.dirname(os.path.realpath(on_path)), os.pardir,
                                 "lib", RUNTIME_LIB_NAME)))
    for build in _build_dirs():
        out.append(("build directory", os.path.join(build, "lib", RUNTIME_LIB_NAME)))
    return out


def find_runtime_library():
    """The path of libkiln_runtime.so, or RUNTIME_LIB_NAME when only the
    system loader may know it (the caller tries to load it); raises
    RuntimeLibraryNotFound naming every place looked at."""
    explicit = os.environ.get("KILN_RUNTIME_LIB")
    if explicit:
        if not os.path.isfile(explicit):
            raise RuntimeLibraryNotFound(
                f"KILN_RUNTIME_LIB={explicit} does not exist")
        return explicit
    for _, path in runtime_library_candidates():
        if os.path.isfile(path):
            return os.path.normpath(path)
    return None


def describe_search():
    lines = ["  $KILN_RUNTIME_LIB: not set"]
    for what, path in runtime_library_candidates():
        lines.append(f"  {os.path.normpath(path)} ({what}): not found")
    lines.append(f"  {RUNTIME_LIB_NAME} through the system loader "
                 "(LD_LIBRARY_PATH): not found")
    return "\n".join(lines)


def find_tool(name):
    """The path of the kiln tool `name` (e.g. "kiln-compile")."""
    looked = []
    tools_dir = os.environ.get("KILN_TOOLS_DIR")
    if tools_dir:
        candidate = os.path.join(tools_dir, name)
        if os.access(candidate, os.X_OK):
            return candidate
        looked.append(candidate)
    else:
        looked.append("$KILN_TOOLS_DIR (not set)")
    found = shutil.which(name)
    if found:
        return found
    looked.append("$PATH")
    explicit = os.environ.get("KILN_RUNTIME_LIB")
    dirs = [os.path.join(os.path.dirname(explicit), os.pardir, "bin")] if explicit else []
    dirs += [os.path.join(build, "bin") for build in _build_dirs()]
    for d in dirs:
        candidate = os.path.normpath(os.path.join(d, name))
        if os.access(candidate, os.X_OK):
            return candidate
        looked.append(candidate)
    raise ToolNotFound(f"cannot find {name}; looked in: {', '.join(looked)} "
                       "(build Kiln with scripts/build or set KILN_TOOLS_DIR)")
