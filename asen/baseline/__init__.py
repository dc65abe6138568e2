"""The "Triplet network" baseline: one attribute-independent embedding per image.

Same global backbone, average pooling and a linear embedding, trained on the same triplets with
the same triplet loss as ASEN; it measures how much the attribute conditioning is worth.
"""
