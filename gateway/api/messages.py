"""Protobuf messages <-> the core's plain values (no logic beyond the conversion)."""

from __future__ import annotations

from asen_contract.model_info import ModelInfo
from gateway.api.status import Status
from gateway.core.images import ImageRef
from gateway.core.results import AttributeResult, Comparison, ImageEmbeddings, Ranking
from gateway.core.service import EmbedQuery
from gateway.generated.asen.v1 import similarity_pb2 as pb


def image_ref(ref: pb.ImageRef) -> ImageRef:
    source = ref.WhichOneof("source")
    if source == "data":
        return ImageRef(data=ref.data)
    if source == "sha256":
        return ImageRef(sha256=ref.sha256)
    return ImageRef()


def embed_query(request: pb.EmbedRequest) -> EmbedQuery:
    return EmbedQuery(
        image_ref(request.image), tuple(request.attributes), request.include_attention
    )


def attributes_response(info: ModelInfo) -> pb.ListAttributesResponse:
    return pb.ListAttributesResponse(
        model_version=info.model_version,
        attributes=[
            pb.AttributeInfo(
                name=a.name, id=a.id, num_values=a.num_values, value_names=a.value_names
            )
            for a in info.attributes
        ],
        beta=info.beta,
        embedding_dim=info.embedding_dim,
        global_dim=info.global_dim,
    )


def embed_response(result: ImageEmbeddings) -> pb.EmbedResponse:
    return pb.EmbedResponse(
        model_version=result.model_version,
        image_sha256=result.image_sha256,
        embeddings=[_embedding(name, r) for name, r in result.embeddings.items()],
    )


def compare_response(result: Comparison) -> pb.CompareResponse:
    return pb.CompareResponse(
        model_version=result.model_version,
        scores=[
            pb.AttributeScore(
                attribute=s.attribute,
                similarity=s.similarity,
                global_similarity=s.global_similarity,
                local_similarity=s.local_similarity,
            )
            for s in result.scores
        ],
        a_sha256=result.a_sha256,
        b_sha256=result.b_sha256,
    )


def rank_response(result: Ranking) -> pb.RankResponse:
    return pb.RankResponse(
        model_version=result.model_version,
        attribute=result.attribute,
        query_sha256=result.query_sha256,
        results=[
            pb.RankedCandidate(
                index=r.index,
                sha256=r.sha256,
                similarity=r.similarity,
                global_similarity=r.global_similarity,
                local_similarity=r.local_similarity,
            )
            for r in result.results
        ],
    )


def stream_error(index: int, status: Status) -> pb.EmbedStreamResponse:
    return pb.EmbedStreamResponse(
        index=index, error=pb.Error(code=status.code.name, message=status.message)
    )


def _embedding(name: str, result: AttributeResult) -> pb.AttributeEmbedding:
    x0, y0, x1, y1 = result.roi
    message = pb.AttributeEmbedding(
        attribute=name,
        embedding=result.embedding.tolist(),
        roi=pb.Box(x0=x0, y0=y0, x1=x1, y1=y1),
        cached=result.cached,
    )
    if result.attention is not None:
        height, width = result.attention.shape[-2:]
        message.attention.height = int(height)
        message.attention.width = int(width)
        message.attention.values.extend(result.attention.reshape(-1).tolist())
    return message
