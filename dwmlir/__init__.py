"""dwmlir: depthwise convolutions to scalable-vector ARM SVE code with MLIR.

The package is one folder per stage, data moving one way:
spec -> ir -> schedule -> pipeline -> target/toolchain -> artefact -> run.
"""

__version__ = "0.1.0"
