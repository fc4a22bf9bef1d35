"""Device profiles (``configs/devices/*.yaml``): how ONNX Runtime runs models on one target.

A profile names the execution providers in order (with their options), the session
options (graph optimisation, threads, spinning), the precision the models are converted
to (fp32, fp16, int8 QDQ), the batch size and how entries are measured: ``isolated``
(one tiny model per block) or ``in_context`` (ORT's profiler on whole probe networks,
for multi-threaded CPUs and accelerators where a block's cost depends on its neighbours).

Users add a device by writing one YAML file there (or passing a path to one).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.errors import ConfigError, suggest
from nascli.paths import config_files

PRECISIONS = ("fp32", "fp16", "int8-qdq")
# htp_cycles: simulated HTP cycles from Qualcomm's x86 simulator (nascli.latency.qnn_table).
MEASURES = ("isolated", "in_context", "htp_cycles")
GRAPH_LEVELS = ("disable", "basic", "extended", "all")

# Which pip package brings an execution provider (the one-line error names it).
PROVIDER_PACKAGES = {
    "CPUExecutionProvider": "onnxruntime",
    "CUDAExecutionProvider": "onnxruntime-gpu",
    "TensorrtExecutionProvider": "onnxruntime-gpu (plus the TensorRT libraries)",
    "OpenVINOExecutionProvider": "onnxruntime-openvino",
    "QNNExecutionProvider": "onnxruntime-qnn",
    "CoreMLExecutionProvider": "onnxruntime (the macOS wheel)",
    "DmlExecutionProvider": "onnxruntime-directml",
    "ROCMExecutionProvider": "onnxruntime-rocm",
    "MIGraphXExecutionProvider": "onnxruntime-migraphx",
    "XnnpackExecutionProvider": "onnxruntime (a build with XNNPACK)",
    "NnapiExecutionProvider": "onnxruntime-android",
}


PROFILE_KEYS = (
    "name",
    "description",
    "providers",
    "session",
    "precision",
    "batch_size",
    "measure",
    "io_binding",
    "host_arch",
)
"""The keys a device profile (YAML or a table's ``device`` record) may have."""


@dataclass(frozen=True)
class Provider:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceProfile:
    """One target: providers, session options, precision, batch, measurement mode."""

    name: str
    description: str
    providers: tuple[Provider, ...]
    graph_optimization: str = "all"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    allow_spinning: bool = True
    precision: str = "fp32"
    batch_size: int = 1
    measure: str = "isolated"
    io_binding: bool = False
    host_arch: str | None = None
    source: str = ""

    @property
    def provider_names(self) -> list[str]:
        return [p.name for p in self.providers]

    @property
    def primary_provider(self) -> str:
        return self.providers[0].name

    def to_dict(self) -> dict[str, Any]:
        """The profile as recorded in a table's metadata."""
        return {
            "name": self.name,
            "description": self.description,
            "providers": [{"name": p.name, "options": dict(p.options)} for p in self.providers],
            "session": {
                "graph_optimization": self.graph_optimization,
                "intra_op_threads": self.intra_op_threads,
                "inter_op_threads": self.inter_op_threads,
                "allow_spinning": self.allow_spinning,
            },
            "precision": self.precision,
            "batch_size": self.batch_size,
            "measure": self.measure,
            "io_binding": self.io_binding,
            "host_arch": self.host_arch,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str) -> DeviceProfile:
        """Validate a profile mapping; every bad key is named."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a device profile must be a mapping")
        allowed = set(PROFILE_KEYS)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{source}: 'name' must be a non-empty string")
        raw_providers = data.get("providers")
        if not isinstance(raw_providers, list) or not raw_providers:
            raise ConfigError(f"{source}: 'providers' must be a non-empty list")
        providers = []
        for index, raw in enumerate(raw_providers):
            if isinstance(raw, str):
                raw = {"name": raw}
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                raise ConfigError(f"{source}: providers[{index}] needs a 'name'")
            options = raw.get("options") or {}
            if not isinstance(options, dict) or set(raw) - {"name", "options"}:
                raise ConfigError(f"{source}: providers[{index}] takes 'name' and 'options' only")
            providers.append(Provider(raw["name"], dict(options)))
        session = data.get("session") or {}
        if not isinstance(session, dict):
            raise ConfigError(f"{source}: 'session' must be a mapping")
        session_keys = {
            "graph_optimization",
            "intra_op_threads",
            "inter_op_threads",
            "allow_spinning",
        }
        unknown = sorted(set(session) - session_keys)
        if unknown:
            raise ConfigError(
                f"{source}: unknown session keys {unknown}; allowed: {sorted(session_keys)}"
            )
        level = session.get("graph_optimization", "all")
        if level not in GRAPH_LEVELS:
            raise ConfigError(f"{source}: graph_optimization must be one of {list(GRAPH_LEVELS)}")
        threads = _positive_int(session.get("intra_op_threads", 1), "intra_op_threads", source)
        inter = _positive_int(session.get("inter_op_threads", 1), "inter_op_threads", source)
        precision = data.get("precision", "fp32")
        if precision not in PRECISIONS:
            raise ConfigError(f"{source}: precision must be one of {list(PRECISIONS)}")
        measure = data.get("measure", "isolated")
        if measure not in MEASURES:
            raise ConfigError(f"{source}: measure must be one of {list(MEASURES)}")
        return cls(
            name=name,
            description=str(data.get("description", "")),
            providers=tuple(providers),
            graph_optimization=level,
            intra_op_threads=threads,
            inter_op_threads=inter,
            allow_spinning=bool(session.get("allow_spinning", True)),
            precision=precision,
            batch_size=_positive_int(data.get("batch_size", 1), "batch_size", source),
            measure=measure,
            io_binding=bool(data.get("io_binding", False)),
            host_arch=data.get("host_arch"),
            source=source,
        )


def _positive_int(value: Any, what: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{source}: {what} must be a positive integer, got {value!r}")
    return value


def _device_files() -> dict[str, Path]:
    return config_files("devices")


def list_devices() -> list[str]:
    return sorted(_device_files())


def load_device(name: str) -> DeviceProfile:
    """The profile called ``name`` in configs/devices, or the YAML file at path ``name``."""
    from nascli.arch import read_yaml_file

    files = _device_files()
    if name in files:
        path = files[name]
    elif name.endswith((".yaml", ".yml")) or Path(name).is_file():
        path = Path(name)
        if not path.exists():  # a FIFO or folder is refused by the loader, by name
            raise ConfigError(f"device profile file {name} does not exist")
    else:
        raise ConfigError(
            f"unknown device {name!r}{suggest(name, list(files))}; known: {', '.join(files)}"
        )
    return DeviceProfile.from_dict(read_yaml_file(path), source=str(path))


def available_providers() -> list[str]:
    """Providers built into onnxruntime plus plugin ones that load here (onnxruntime-qnn 2.x)."""
    import onnxruntime

    from nascli.latency.qnn import QNN_EP, plugin_available

    names = list(onnxruntime.get_available_providers())
    if QNN_EP not in names and plugin_available():
        names.insert(0, QNN_EP)
    return names


def missing_reason(profile: DeviceProfile, available: list[str] | None = None) -> str | None:
    """Why this machine cannot run ``profile`` (one line), or None when it can."""
    available = available_providers() if available is None else available
    primary = profile.primary_provider
    if primary not in available:
        package = PROVIDER_PACKAGES.get(primary, "an onnxruntime build that includes it")
        return (
            f"device {profile.name!r} needs {primary}, which this onnxruntime does not provide "
            f"(available: {', '.join(available)}); install {package}"
        )
    if profile.host_arch and _normalise_arch(platform.machine()) != profile.host_arch:
        return (
            f"device {profile.name!r} is an {profile.host_arch} CPU but this host is "
            f"{platform.machine()}; run it there (or ship a bundle: nascli profile --bundle)"
        )
    return None


def require_available(profile: DeviceProfile) -> None:
    """Raise a one-line ConfigError naming the package to install when the EP is missing."""
    reason = missing_reason(profile)
    if reason is not None:
        raise ConfigError(reason)


def _normalise_arch(machine: str) -> str:
    machine = machine.lower()
    return {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)


def session_options(profile: DeviceProfile, *, profiling_prefix: str | None = None):
    """ORT SessionOptions for a profile (graph level, threads, spinning, optional profiler)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[profile.graph_optimization]
    options.intra_op_num_threads = profile.intra_op_threads
    options.inter_op_num_threads = profile.inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    spin = "1" if profile.allow_spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    options.add_session_config_entry("session.inter_op.allow_spinning", spin)
    options.log_severity_level = 3
    if profiling_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profiling_prefix
    return options


def make_session(
    profile: DeviceProfile, model: str | bytes, *, profiling_prefix: str | None = None
):
    """A fresh InferenceSession for ``model`` (path or serialized bytes) on ``profile``."""
    import onnxruntime as ort

    from nascli.latency.qnn import QNN_EP, add_qnn

    options = session_options(profile, profiling_prefix=profiling_prefix)
    if profile.primary_provider == QNN_EP:
        if not any(p.name == "CPUExecutionProvider" for p in profile.providers):
            options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        if add_qnn(options, profile.providers[0].options):  # the 2.x plugin
            return ort.InferenceSession(model, sess_options=options)
    providers = [(p.name, {k: str(v) for k, v in p.options.items()}) for p in profile.providers]
    if profile.primary_provider == QNN_EP:  # onnxruntime-qnn 1.x: QNN built into onnxruntime
        from nascli.latency.qnn import resolve_backend

        providers[0] = (QNN_EP, resolve_backend(profile.providers[0].options))
    return ort.InferenceSession(model, sess_options=options, providers=providers)
