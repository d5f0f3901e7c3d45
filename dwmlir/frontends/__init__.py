"""Framework importers: PyTorch (``from_torch``) and ONNX (``import_onnx``).

Each frontend turns a model into framework-neutral ``Node``s; ``graph.plan_layers`` maps them
to fused ``BlockSpec``s with their weights; ``model.build_model`` writes one library, a header
and the weights as C source, and returns a callable ``ImportedModel``. Frontends sit above
``spec/`` and never reach into the rewrites.
"""

from .graph import Layer, Node, plan_layers
from .model import ImportedModel, LayerCheck
from .onnx_graph import import_onnx
from .torch_fx import from_torch

__all__ = ["ImportedModel", "Layer", "LayerCheck", "Node", "from_torch", "import_onnx", "plan_layers"]
