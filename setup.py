"""pip install of the Python module (docs/python.md), offline with Debian's packages: setuptools
drives CMake, which builds only the module and the libraries it links.

    python3 -m venv --system-site-packages .venv && .venv/bin/pip install --no-build-isolation .

The build goes to build/pip; SINKSCOPE_BUILD_DIR names another CMake build to use instead (e.g.
build/release, already built: the install then only copies the module).
"""
import os
import pathlib
import re
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("SINKSCOPE_BUILD_DIR", ROOT / "build/pip"))
        if not (build / "CMakeCache.txt").exists():
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                            "-DSINKSCOPE_TESTS=OFF", "-DSINKSCOPE_BENCH=OFF",
                            f"-DPython_EXECUTABLE={sys.executable}"], check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "sinkscope_python", "-j", jobs],
                       check=True)
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        built = build / "python" / dest.name  # the same interpreter's suffix, or none is found
        if not built.exists():
            sys.exit(f"{built} not built: {build} is configured for another Python")
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(dest))


version = re.search(r"project\(sinkscope VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())[1]
setup(
    name="sinkscope",
    version=version,
    description="Attention-sink research on GGUF models, with numpy arrays out",
    ext_modules=[Extension("sinkscope", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
)
