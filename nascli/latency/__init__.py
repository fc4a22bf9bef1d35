"""Latency lookup tables through ONNX Runtime: device profiles, profiling, prediction.

Nothing is imported here so ``nascli --help`` stays fast; import the submodules.
"""
