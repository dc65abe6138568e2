"""The ASEN++ network: truncated ResNet backbones, attribute-aware attention heads, fusion."""
