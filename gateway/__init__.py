"""The ASEN gRPC gateway: similarity API in front of Triton, with an embedding cache."""
