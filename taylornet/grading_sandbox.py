"""A sandboxed kernel for ``nbgrader autograde``, and an executor that survives what it runs.

nbgrader runs every submission with the grader's rights: a solution cell may
read ``source/`` (the solutions and hidden tests) or ``gradebook.db``, rewrite
other students' grades, open network connections, exhaust memory, or never
return. The course's ``nbgrader_config.py`` therefore replaces nbgrader's
``Execute`` preprocessor in ``autograde`` by :class:`SandboxedExecute`, whose
kernels are started by :class:`SandboxKernelManager`:

* **Isolation** (bubblewrap, ``bwrap``, when it is installed). The kernel runs
  in new user, PID, IPC, UTS and network namespaces (no network at all, not
  even the host's loopback). Its filesystem is built from nothing: the system
  (``/usr``, a few files of ``/etc``), the Python installation, the virtual
  environment and the packages it imports, read-only; the submission's own
  folder, read-only, with every notebook in it replaced by an empty file (the
  copy being graded already holds the restored hidden tests); a fresh
  ``/tmp`` (a size-capped tmpfs, also ``$HOME``), the only writable place
  (a path under ``/tmp`` that looks like the grader's, e.g. when the course
  itself lives in ``/tmp``, is a folder of that scratch tmpfs, not the real one).
  ``source/``, ``release/``, the other students' folders, the gradebook, the
  repository and the grader's home do not exist inside. The environment is
  cleared except for a few harmless variables. Kernel and grader talk over
  ZeroMQ ``ipc`` sockets (files in a private folder bound into the sandbox):
  TCP would not cross the network namespace.
* **Resource limits** (always): ``RLIMIT_DATA`` (the memory cap, default
  4 GiB; it counts heap and anonymous mappings, so a memory bomb gets a
  ``MemoryError`` rather than the OOM killer, while the address space reserved
  by shared libraries does not count), ``RLIMIT_CPU`` (CPU seconds per kernel),
  ``RLIMIT_NPROC`` (processes of the grading user; Linux does not enforce it for
  root) and ``RLIMIT_FSIZE`` (the largest file).
* **Recovery** (:class:`SandboxedExecute`). A cell that kills the kernel
  (``os._exit``, a signal, the CPU cap) or that still runs ``interrupt_grace``
  seconds after the per-cell timeout interrupted it (a loop that swallows
  ``KeyboardInterrupt``) gets an error output, hence zero points if it is a
  test cell; the kernel is restarted and the earlier cells are replayed, so
  the other exercises are graded as usual.

Without ``bwrap`` the kernel gets the resource limits only, and every kernel
start logs a ``WARNING`` saying that the submission can read and write
whatever the grader can.

Settings (traits of :class:`SandboxKernelManager`, set in ``nbgrader_config.py``
as ``c.SandboxKernelManager.<name>``, or through the environment variable in
brackets, which wins): ``mode`` (``TAYLORNET_SANDBOX``: ``auto`` = bwrap when
found else limits only, ``bwrap`` = fail when bwrap is missing, ``limits``,
``off``), ``memory_limit`` (``TAYLORNET_SANDBOX_MEMORY``, e.g. ``4G``),
``cpu_limit`` (``TAYLORNET_SANDBOX_CPU``, seconds), ``max_processes``
(``TAYLORNET_SANDBOX_NPROC``), ``tmp_size`` (``TAYLORNET_SANDBOX_TMP``),
``bwrap`` (``TAYLORNET_SANDBOX_BWRAP``, the executable), ``ro_paths`` (more
folders to show read-only) and ``modules`` (packages whose folders are shown).
"""

from __future__ import annotations

import copy
import glob
import importlib.util
import logging
import os
import queue
import shutil
import sys
import sysconfig
import tempfile
import time

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode, default

__all__ = ["SandboxKernelManager", "SandboxedExecute", "bwrap_command", "limits_command",
           "parse_size"]

#: The prefix of every sandbox log line (grep the autograde log for it).
LOG_PREFIX = "taylornet sandbox"

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

#: The files of ``/etc`` a Python kernel needs (the loader, users, time zone, fonts).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "localtime", "timezone", "fonts", "alternatives", "mime.types", "hosts")

#: Environment variables passed into the sandbox (everything else is dropped).
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "MPLBACKEND",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED",
            "PYDEVD_DISABLE_FILE_VALIDATION", "TAYLORNET_PARTIAL_CREDIT")


def parse_size(text: str | int) -> int:
    """``"4G"``, ``"512M"``, ``"1.5G"`` or a number of bytes -> bytes."""
    if isinstance(text, int):
        return text
    s = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _UNITS and not s[-1:].isdigit() else ""
    number = s[: len(s) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M or a number of bytes)") from None
    if value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return int(value * _UNITS[unit])


def _user_processes() -> int:
    """How many processes the current (real) user has now (``RLIMIT_NPROC`` counts them all)."""
    uid, count = str(os.getuid()), 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status, encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += line.split()[1] == uid
                        break
        except OSError:
            continue
    return count


def limits_command(command: list[str], *, memory: int, cpu: int, nproc: int,
                   fsize: int) -> list[str]:
    """``command`` run by a tiny Python launcher that sets the resource limits, then ``exec``-s."""
    script = (
        "import os, resource, sys\n"
        "names = ('DATA', 'CPU', 'NPROC', 'FSIZE', 'CORE')\n"
        "for name, value in zip(names, map(int, sys.argv[1:6])):\n"
        "    name = getattr(resource, 'RLIMIT_' + name)\n"
        "    hard = resource.getrlimit(name)[1]\n"
        "    value = value if hard == resource.RLIM_INFINITY else min(value, hard)\n"
        "    resource.setrlimit(name, (value, value))\n"
        "os.execv(sys.argv[6], sys.argv[6:])\n"
    )
    limits = [str(v) for v in (memory, cpu, nproc, fsize, 0)]
    return [sys.executable, "-I", "-S", "-c", script, *limits, *command]


def _read_only_paths(modules, extra) -> list[str]:
    """The Python installation, environment and imported packages, outermost first."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_path(name))
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None:
            for location in spec.submodule_search_locations or [spec.origin]:
                if location:
                    paths.add(location if os.path.isdir(location) else os.path.dirname(location))
    paths.update(extra)
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)} | {
        p for p in paths if p and os.path.exists(p)})
    # drop paths inside another one (bound already)
    return [p for p in real if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in real)]


def bwrap_command(command: list[str], *, bwrap: str, cwd: str | None, private: str,
                  ro_paths: list[str], tmp_size: int, env: dict[str, str]) -> list[str]:
    """``command`` inside a bubblewrap sandbox (see the module docstring for what it sees)."""
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--ro-bind", "/usr", "/usr"]
    for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for name in ETC_FILES:
        if os.path.exists(os.path.join("/etc", name)):
            args += ["--ro-bind", os.path.join("/etc", name), os.path.join("/etc", name)]
    args += ["--size", str(tmp_size), "--tmpfs", "/tmp"]
    for path in ro_paths:
        if path not in ("/usr", "/", "/tmp") and not path.startswith("/usr/"):
            args += ["--ro-bind", path, path]
    if cwd:
        cwd = os.path.realpath(cwd)
        args += ["--ro-bind", cwd, cwd]
        for notebook in sorted(glob.glob(os.path.join(glob.escape(cwd), "*.ipynb"))):
            args += ["--ro-bind", "/dev/null", notebook]
        args += ["--chdir", cwd]
    else:
        args += ["--chdir", "/tmp"]
    args += ["--bind", private, private, "--remount-ro", "/", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *command]


class SandboxKernelManager(AsyncKernelManager):
    """Starts each kernel in a bubblewrap sandbox with resource limits (module docstring)."""

    mode = Unicode("auto", help="auto | bwrap | limits | off (env TAYLORNET_SANDBOX)").tag(
        config=True)
    memory_limit = Unicode("4G", help="RLIMIT_DATA of the kernel (env TAYLORNET_SANDBOX_MEMORY)"
                           ).tag(config=True)
    cpu_limit = Integer(600, help="RLIMIT_CPU, CPU seconds per kernel (env TAYLORNET_SANDBOX_CPU)"
                        ).tag(config=True)
    max_processes = Integer(64, help="processes (threads count) the kernel may add to those the "
                            "grading user runs already (env TAYLORNET_SANDBOX_NPROC)").tag(
        config=True)
    file_size_limit = Unicode("1G", help="RLIMIT_FSIZE, the largest file the kernel may write"
                              ).tag(config=True)
    tmp_size = Unicode("512M", help="size of the writable /tmp of the sandbox "
                       "(env TAYLORNET_SANDBOX_TMP)").tag(config=True)
    bwrap = Unicode("bwrap", help="the bubblewrap executable (env TAYLORNET_SANDBOX_BWRAP)").tag(
        config=True)
    ro_paths = List(Unicode(), help="more folders shown read-only inside the sandbox").tag(
        config=True)
    modules = List(Unicode(), ["taylornet", "numpy", "matplotlib", "nbgrader"],
                   help="packages whose folders are shown read-only (editable installs)").tag(
        config=True)

    @default("transport")
    def _transport_default(self):
        return "ipc"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for trait, var in (("mode", "TAYLORNET_SANDBOX"),
                           ("memory_limit", "TAYLORNET_SANDBOX_MEMORY"),
                           ("tmp_size", "TAYLORNET_SANDBOX_TMP"),
                           ("bwrap", "TAYLORNET_SANDBOX_BWRAP")):
            if os.environ.get(var):
                setattr(self, trait, os.environ[var])
        for trait, var in (("cpu_limit", "TAYLORNET_SANDBOX_CPU"),
                           ("max_processes", "TAYLORNET_SANDBOX_NPROC")):
            if os.environ.get(var):
                setattr(self, trait, int(os.environ[var]))
        if self.mode not in ("auto", "bwrap", "limits", "off"):
            raise ValueError(f"TAYLORNET_SANDBOX / mode must be auto, bwrap, limits or off, "
                             f"not {self.mode!r}")
        parse_size(self.memory_limit), parse_size(self.tmp_size)  # fail early on a typo
        # the connection file and the ipc sockets live in a private folder, the only
        # folder of the grader's that the sandbox sees besides the submission's
        self._private = tempfile.mkdtemp(prefix="taylornet-kernel-")
        self.connection_file = os.path.join(self._private, "kernel.json")

    def _bwrap_path(self) -> str | None:
        return shutil.which(self.bwrap) if self.mode in ("auto", "bwrap") else None

    def sandbox_description(self) -> str:
        memory = parse_size(self.memory_limit)
        return (f"memory {memory / 2**30:.3g} GiB, CPU {self.cpu_limit} s, "
                f"+{self.max_processes} processes")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.mode == "off":
            self.log.warning("%s: OFF - the submission runs unsandboxed, with the grader's "
                             "rights and no resource limits", LOG_PREFIX)
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        memory = parse_size(self.memory_limit)
        nproc = _user_processes() + self.max_processes
        cmd = limits_command(kernel_cmd, memory=memory, cpu=self.cpu_limit, nproc=nproc,
                             fsize=parse_size(self.file_size_limit))
        env = {k: v for k, v in (kw.get("env") or os.environ).items() if k in KEPT_ENV}
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")  # small arrays; and threads count against max_processes
        env.update(HOME="/tmp", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib",
                   PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                         "/usr/bin", "/bin"]),
                   MPLBACKEND=env.get("MPLBACKEND", "module://matplotlib_inline.backend_inline"))
        bwrap = self._bwrap_path()
        if bwrap:
            # the grader is outside the PID namespace (the kernel's parent there is PID 1):
            # no parent poller, and no "Ctrl-C will not work" banner on the grader's stdout
            env["JPY_PARENT_PID"] = "1"
            cmd = bwrap_command(cmd, bwrap=bwrap, cwd=kw.get("cwd"), private=self._private,
                                ro_paths=_read_only_paths(self.modules, self.ro_paths),
                                tmp_size=parse_size(self.tmp_size), env=env)
            self.log.info("%s: bubblewrap (no network, read-only view of the submission "
                          "and the installed packages, writable /tmp), %s", LOG_PREFIX,
                          self.sandbox_description())
        elif self.mode == "bwrap":
            raise RuntimeError(f"{LOG_PREFIX}: bubblewrap ({self.bwrap}) is not installed and "
                               "mode is 'bwrap' (apt-get install bubblewrap)")
        else:
            kw["env"] = {**env, "HOME": self._private, "TMPDIR": self._private,
                         "MPLCONFIGDIR": os.path.join(self._private, "matplotlib")}
            self.log.warning(
                "%s: WARNING bubblewrap (%s) is %s: resource limits ONLY (%s). The submission "
                "can read the solutions, hidden tests and gradebook, write anywhere the grader "
                "can and use the network. Install bubblewrap (apt-get install bubblewrap).",
                LOG_PREFIX, self.bwrap, "not installed" if self.mode == "auto" else "disabled",
                self.sandbox_description())
        return await super()._async_launch_kernel(cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private, ignore_errors=True)


class _ExpectedKernelDeath(logging.Filter):
    """nbclient logs a dead kernel at ERROR; here it is expected and handled: not an error.

    :meth:`SandboxedExecute._recover` logs what happened, and what it does about it,
    in one WARNING line instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Kernel died while waiting for execute reply")


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with sandboxed kernels and recovery from dead or stuck kernels.

    A code cell whose kernel dies, or stays busy ``interrupt_grace`` seconds after
    the timeout interrupted it, gets an error output (``KernelDied`` or
    ``KernelUnresponsive``); the kernel is restarted and the code cells before it
    are replayed (without touching their outputs), skipping every cell that broke a
    kernel. After ``max_restarts`` restarts the remaining cells are not run (and
    get an error output).
    """

    interrupt_grace = Integer(5, help="seconds a kernel gets to answer after the timeout "
                              "interrupted it, before it is restarted").tag(config=True)
    max_restarts = Integer(4, help="kernel restarts per notebook").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        if not any(isinstance(f, _ExpectedKernelDeath) for f in self.log.filters):
            self.log.addFilter(_ExpectedKernelDeath())
        km = super().create_kernel_manager()
        km.log = self.log  # the sandbox's lines go to the autograde log
        return km

    def preprocess(self, nb, resources=None, km=None):
        self._broken: set[int] = set()
        self._restarts = 0
        self._timed_out = False
        return super().preprocess(nb, resources, km)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    @staticmethod
    def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.outputs.append(NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                         traceback=[f"{ename}: {evalue}"]))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._restarts > self.max_restarts:
            cell.outputs = []
            self._error(cell, "KernelDied", "not run: the kernel was restarted "
                        f"{self.max_restarts} times already")
            return cell, resources
        self._timed_out = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._error(cell, "KernelDied", "the kernel died while this cell ran (os._exit, a "
                        "signal, or the sandbox's CPU-time or memory limit); it was restarted")
            self._recover(index)
            return cell, resources
        except CellTimeoutError as exc:  # the reply came, its output did not (iopub_timeout)
            self._error(cell, "CellTimeoutError", str(exc).splitlines()[0])
            self._timed_out = True
        if self._timed_out and not self._responds(self.interrupt_grace):
            self._error(cell, "KernelUnresponsive", "the cell ran past the timeout and ignored "
                        "the interrupt; the kernel was restarted")
            self._recover(index)
        return cell, self.resources

    def _responds(self, grace: float) -> bool:
        """Whether the kernel answers a ``kernel_info`` request within ``grace`` seconds."""
        msg_id = self.kc.kernel_info()
        get = run_sync(self.kc.shell_channel.get_msg)
        deadline = time.monotonic() + grace
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = get(timeout=left)
            except queue.Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _recover(self, index: int) -> None:
        """Restart the kernel and replay the code cells before ``index`` that did not break it."""
        self._broken.add(index)
        while True:
            self._restarts += 1
            self.log.warning("%s: cell %d stopped the kernel (the submission exited or hit a "
                             "time, CPU or memory limit); that cell scores zero, the kernel is "
                             "restarted (restart %d of at most %d)", LOG_PREFIX, index,
                             self._restarts, self.max_restarts)
            if self._restarts > self.max_restarts:
                return
            run_sync(self.km.restart_kernel)(now=True)
            self.kc.stop_channels()
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            if self._replay(index):
                return

    def _replay(self, index: int) -> bool:
        """Re-run the code cells before ``index`` (on copies); ``False`` if one broke the kernel."""
        for j, earlier in enumerate(self.nb.cells[:index]):
            if earlier.cell_type != "code" or j in self._broken or not earlier.source.strip():
                continue
            self._timed_out = False
            try:
                self.execute_cell(copy.deepcopy(earlier), j, store_history=False)
            except DeadKernelError:
                self._broken.add(j)
                return False
            if self._timed_out and not self._responds(self.interrupt_grace):
                self._broken.add(j)
                return False
        return True
