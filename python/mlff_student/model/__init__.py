"""The student architecture, its ghost-exchange operations, and checkpoint and ONNX loading."""
