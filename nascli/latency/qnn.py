"""Sessions on Qualcomm's HTP (Hexagon NPU) through ONNX Runtime's QNN execution provider.

onnxruntime-qnn 2.x is a *plugin*: it installs beside the ``onnxruntime`` wheel and its
provider library is registered at run time (``register_execution_provider_library``), then
attached to a session with ``SessionOptions.add_provider_for_devices``. Older 1.x wheels
replace ``onnxruntime`` and take the classic ``providers=["QNNExecutionProvider"]`` form.
Both are handled here, so a device profile names only ``QNNExecutionProvider`` and its
options.

On x86-64 Linux the wheel's ``libQnnHtp.so`` runs the HTP graph in Qualcomm's simulator:
models are compiled for the named ``htp_arch`` exactly as for a device, and with
``profiling_level: detailed`` the backend reports accelerator cycles (whole graph and per
node). The simulator has no clock, so those cycles are its only cost figure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

QNN_EP = "QNNExecutionProvider"
# Where a profile's backend_path names the library by its file name (QnnHtp.dll on Windows,
# libQnnHtp.so elsewhere) the wheel's own copy is used.
_BACKEND_ALIASES = {
    "qnnhtp.dll": "htp",
    "libqnnhtp.so": "htp",
    "htp": "htp",
    "qnncpu.dll": "cpu",
    "libqnncpu.so": "cpu",
    "cpu": "cpu",
}
_registered = False


def qnn_module() -> Any | None:
    """The ``onnxruntime_qnn`` module of a 2.x plugin wheel, or None."""
    try:
        import onnxruntime_qnn
    except ImportError:
        return None
    return onnxruntime_qnn if hasattr(onnxruntime_qnn, "get_library_path") else None


def qnn_version() -> str | None:
    """The installed onnxruntime-qnn version (plugin wheel), or None."""
    module = qnn_module()
    return getattr(module, "__version__", None) if module is not None else None


def plugin_available() -> bool:
    """True when onnxruntime can load the onnxruntime-qnn plugin (2.x) on this host."""
    import onnxruntime as ort

    return qnn_module() is not None and hasattr(ort, "register_execution_provider_library")


def classic_available() -> bool:
    """True when this onnxruntime build has QNN compiled in (onnxruntime-qnn 1.x)."""
    import onnxruntime as ort

    return QNN_EP in ort.get_available_providers()


def qnn_available() -> bool:
    return plugin_available() or classic_available()


def register_plugin() -> list[Any]:
    """Register the plugin library once per process; the QNN EP's devices."""
    global _registered
    import onnxruntime as ort

    module = qnn_module()
    if module is None:
        raise RuntimeError("onnxruntime-qnn (2.x plugin) is not installed")
    devices = [d for d in ort.get_ep_devices() if d.ep_name == module.get_ep_name()]
    if not devices and not _registered:
        ort.register_execution_provider_library(module.get_ep_name(), module.get_library_path())
        _registered = True
        devices = [d for d in ort.get_ep_devices() if d.ep_name == module.get_ep_name()]
    return devices


def resolve_backend(options: dict[str, Any]) -> dict[str, str]:
    """Provider options as strings, the backend pointed at the library that matches the EP.

    A profile written for a device names ``QnnHtp.dll``; with the plugin wheel installed the
    library shipped in it is the one to load, whatever the platform. Without the plugin
    (onnxruntime-qnn 1.x) a bare ``htp``/``cpu`` becomes that build's ``backend_type``.
    """
    out = {k: str(v) for k, v in options.items()}
    module = qnn_module()
    backend = out.get("backend_path") or out.pop("backend_type", "htp")
    alias = _BACKEND_ALIASES.get(Path(backend).name.lower())
    if module is not None and alias is not None:
        htp = alias == "htp"
        out["backend_path"] = module.get_qnn_htp_path() if htp else module.get_qnn_cpu_path()
    elif backend in ("htp", "cpu"):
        out.pop("backend_path", None)
        out["backend_type"] = backend
    else:
        out["backend_path"] = backend
    return out


def add_qnn(options: Any, provider_options: dict[str, Any]) -> bool:
    """Attach QNN to ``options`` through the plugin API; False when only the classic form works."""
    if not plugin_available():
        return False
    devices = register_plugin()
    if not devices:
        return False
    options.add_provider_for_devices(devices, resolve_backend(provider_options))
    return True


def htp_session_options(*, fallback: bool = False, threads: int = 1) -> Any:
    """SessionOptions for HTP runs: one thread, CPU fallback off unless asked for."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if not fallback:
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    return options


def htp_session(
    model: str | bytes,
    *,
    htp_arch: int | None = None,
    profiling_file: Path | None = None,
    options: Any = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    """An InferenceSession on the HTP backend (CPU fallback disabled unless ``options`` say).

    ``profiling_file``: the backend writes its detailed profile (cycles) there.
    """
    import onnxruntime as ort

    options = options if options is not None else htp_session_options()
    provider: dict[str, Any] = {"backend_path": "htp", **(extra or {})}
    if htp_arch is not None:
        provider["htp_arch"] = htp_arch
    if profiling_file is not None:
        provider["profiling_level"] = "detailed"
        provider["profiling_file_path"] = str(profiling_file)
    if add_qnn(options, provider):
        return ort.InferenceSession(model, sess_options=options)
    return ort.InferenceSession(
        model, sess_options=options, providers=[(QNN_EP, resolve_backend(provider))]
    )


class CapturedStderr:
    """Redirect file descriptor 2 to a temporary file (the EP logs through C++ stderr)."""

    def __enter__(self) -> CapturedStderr:
        self._file = tempfile.TemporaryFile(mode="w+b")
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *_exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()
