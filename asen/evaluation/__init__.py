"""Evaluation with the official ASEN++ protocol: per-attribute MAP, query-weighted overall MAP,
plus triplet accuracy."""

from asen.evaluation.attribute_map import AttributeScore, attribute_maps, weighted_map
from asen.evaluation.average_precision import average_precisions, mean_average_precision
from asen.evaluation.evaluate import evaluate_embeddings, evaluate_model
from asen.evaluation.pair_embeddings import EmbedFn, embed_unique_pairs
from asen.evaluation.report import EvaluationReport
from asen.evaluation.triplet_accuracy import EvalTriplets, sample_eval_triplets, triplet_accuracy

__all__ = [
    "AttributeScore",
    "EmbedFn",
    "EvalTriplets",
    "EvaluationReport",
    "attribute_maps",
    "average_precisions",
    "embed_unique_pairs",
    "evaluate_embeddings",
    "evaluate_model",
    "mean_average_precision",
    "sample_eval_triplets",
    "triplet_accuracy",
    "weighted_map",
]
