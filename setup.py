"""Build script for cthulhu's native kernels (Cython + optional OpenMP).

Metadata lives in pyproject.toml; this file only declares the extension modules.

    python setup.py build_ext --inplace -j 2     # development build
    pip install .                                # regular install

Environment variables:
    CTHULHU_DEBUG_CYTHON=1    turn bounds / wraparound / initialized checks back on
                              (forces re-cythonization of every module)
    CTHULHU_REQUIRE_OPENMP=1  fail the build when the compiler cannot use OpenMP
    CTHULHU_DISABLE_OPENMP=1  skip the probe and build serial kernels (for testing that path)
"""

import os
import shutil
import sys
import tempfile
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS_DIR = os.path.join("cthulhu", "_kernels")

DEBUG_CYTHON = os.environ.get("CTHULHU_DEBUG_CYTHON", "") == "1"
REQUIRE_OPENMP = os.environ.get("CTHULHU_REQUIRE_OPENMP", "") == "1"
DISABLE_OPENMP = os.environ.get("CTHULHU_DISABLE_OPENMP", "") == "1"

# The single place where Cython compiler directives are chosen.
COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG_CYTHON,
    "wraparound": DEBUG_CYTHON,
    "initializedcheck": DEBUG_CYTHON,
    "cdivision": True,
    "nonecheck": False,
}

# -ffast-math is deliberately absent: it breaks NaN/inf semantics. -fno-trapping-math keeps
# IEEE results (NaN, inf, signed zeros, no reassociation); it only lets gcc assume that FP
# exception flags / traps are not observed, which it needs to if-convert (and so vectorize)
# loops with several compare-and-select steps, e.g. the clamps of the vectorized exp.
# No -march=native either: wheels must run on any CPU of the target architecture.
UNIX_COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]

OPENMP_PROBE_SOURCE = r"""
#include <omp.h>
#include <stdio.h>

int main(void) {
    int count = 0;
    #pragma omp parallel reduction(+:count)
    count += 1;
    printf("%d %d\n", count, omp_get_max_threads());
    return count > 0 ? 0 : 1;
}
"""


def _openmp_flags(compiler):
    """(compile_args, link_args) that enable OpenMP for this compiler type."""
    if compiler.compiler_type == "msvc":
        return ["/openmp"], []
    return ["-fopenmp"], ["-fopenmp"]


def probe_openmp(compiler):
    """Compile and link a tiny OpenMP program with `compiler`; True when that works."""
    compile_args, link_args = _openmp_flags(compiler)
    tmp = tempfile.mkdtemp(prefix="cthulhu_omp_probe_")
    old_cwd = os.getcwd()
    try:
        os.chdir(tmp)
        with open("omp_probe.c", "w") as f:
            f.write(OPENMP_PROBE_SOURCE)
        objects = compiler.compile(["omp_probe.c"], extra_postargs=compile_args)
        compiler.link_executable(objects, "omp_probe", extra_postargs=link_args)
        return True
    except Exception as exc:  # CompileError, LinkError, missing compiler...
        print(f"OpenMP probe failed: {exc!r}", file=sys.stderr)
        return False
    finally:
        os.chdir(old_cwd)
        shutil.rmtree(tmp, ignore_errors=True)


def _loud_warning(lines):
    bar = "!" * 78
    text = "\n".join([bar, *("!!  " + line for line in lines), bar])
    print("\n" + text + "\n", file=sys.stderr)


class BuildExtWithOpenMP(build_ext):
    """build_ext that probes the active compiler for OpenMP before building."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:   # `pip install .` passes no -j: compile modules in parallel
            self.parallel = max(1, min(4, os.cpu_count() or 1))

    def build_extensions(self):
        if DISABLE_OPENMP and REQUIRE_OPENMP:
            raise RuntimeError("CTHULHU_DISABLE_OPENMP=1 contradicts CTHULHU_REQUIRE_OPENMP=1")
        has_openmp = False if DISABLE_OPENMP else probe_openmp(self.compiler)
        if has_openmp:
            compile_args, link_args = _openmp_flags(self.compiler)
        else:
            if REQUIRE_OPENMP:
                raise RuntimeError(
                    "CTHULHU_REQUIRE_OPENMP=1 but the C compiler cannot compile and link an "
                    "OpenMP program with -fopenmp."
                )
            _loud_warning([
                "WARNING: OpenMP disabled by CTHULHU_DISABLE_OPENMP=1." if DISABLE_OPENMP else
                "WARNING: the C compiler could not build an OpenMP test program.",
                "cthulhu's native kernels will be built WITHOUT OpenMP and run SERIALLY",
                "(one thread per kernel; BLAS keeps its own threads).",
                "Install an OpenMP runtime (e.g. libgomp / libomp) and rebuild to enable",
                "parallel kernels; set CTHULHU_REQUIRE_OPENMP=1 to make this an error.",
            ])
            compile_args, link_args = [], []
        unix = self.compiler.compiler_type != "msvc"
        for ext in self.extensions:
            ext.extra_compile_args = (
                list(ext.extra_compile_args or [])
                + (UNIX_COMPILE_ARGS if unix else ["/O2"])
                + compile_args
            )
            ext.extra_link_args = list(ext.extra_link_args or []) + link_args
            ext.define_macros = list(ext.define_macros or []) + [
                ("CTHULHU_OPENMP", "1" if has_openmp else "0")
            ]
        super().build_extensions()


def kernel_extensions():
    """One extension per cthulhu/_kernels/*.pyx (new modules are picked up automatically)."""
    sources = sorted(glob(os.path.join(KERNELS_DIR, "*.pyx")))
    extensions = []
    for source in sources:
        stem = os.path.splitext(os.path.basename(source))[0]
        extensions.append(
            Extension(
                f"cthulhu._kernels.{stem}",
                [source],
                include_dirs=[numpy.get_include(), KERNELS_DIR],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return extensions


# Build relative to this file so `pip install /path/to/repo` works from any cwd.
os.chdir(HERE)
setup(
    ext_modules=cythonize(
        kernel_extensions(),
        compiler_directives=COMPILER_DIRECTIVES,
        annotate=False,
        nthreads=2,
        force=DEBUG_CYTHON,
    ),
    cmdclass={"build_ext": BuildExtWithOpenMP},
)
