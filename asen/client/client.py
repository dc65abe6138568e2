"""`AsenClient`: a small synchronous client of the gateway.

Images may be given as bytes, a file path, or `Sha256Ref(hex)` for an image the service has
already embedded (nothing is uploaded again). Errors come back as `ClientError` carrying the gRPC
status name (e.g. INVALID_ARGUMENT), a subclass of `AsenError` so the CLI prints it cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import grpc
import numpy as np

from asen.client import catalogue_calls as calls
from asen.client.catalogue_results import (
    CatalogueItem,
    CatalogueSearch,
    CatalogueStats,
    DeleteResult,
    ItemRef,
    ListedItem,
    UpsertResult,
    VersionStats,
)
from asen.client.results import (
    AttributeInfo,
    CompareResult,
    Embedding,
    EmbedResult,
    ModelAttributes,
    RankedCandidate,
    RankResult,
    Score,
    StreamError,
)
from asen_contract.errors import AsenError
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Sha256Ref:
    """An image referred to by the SHA-256 (hex) of its bytes."""

    sha256: str


@dataclass(frozen=True)
class TlsOptions:
    """TLS to the gateway: `ca_cert` to trust (None = system roots); client pair for mutual TLS."""

    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None  # override the name checked in the server certificate


ImageLike = Union[bytes, str, os.PathLike, Sha256Ref]  # noqa: UP007 (runtime alias)


class ClientError(AsenError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.details = message


class AsenClient:
    def __init__(
        self,
        address: str,
        api_key: str | None = None,
        tls: bool | TlsOptions = False,
        timeout: float = 30.0,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        if tls:
            tls_options = tls if isinstance(tls, TlsOptions) else TlsOptions()
            if tls_options.server_name:
                options.append(("grpc.ssl_target_name_override", tls_options.server_name))
            self._channel = grpc.secure_channel(address, _credentials(tls_options), options)
        else:
            self._channel = grpc.insecure_channel(address, options)
        self._stub = pb_grpc.FashionSimilarityStub(self._channel)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.timeout = timeout

    def __enter__(self) -> AsenClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    # -- API ----------------------------------------------------------------------------------
    def list_attributes(self) -> ModelAttributes:
        response = self._call(self._stub.ListAttributes, pb.ListAttributesRequest())
        return ModelAttributes(
            model_version=response.model_version,
            attributes=[
                AttributeInfo(a.name, a.id, a.num_values, list(a.value_names))
                for a in response.attributes
            ],
            beta=response.beta,
            embedding_dim=response.embedding_dim,
            global_dim=response.global_dim,
        )

    def embed(
        self,
        image: ImageLike,
        attributes: Sequence[str] | None = None,
        include_attention: bool = False,
    ) -> EmbedResult:
        request = pb.EmbedRequest(
            image=_image(image),
            attributes=list(attributes or ()),
            include_attention=include_attention,
        )
        return _embed_result(self._call(self._stub.Embed, request))

    def compare(
        self, a: ImageLike, b: ImageLike, attributes: Sequence[str] | None = None
    ) -> CompareResult:
        request = pb.CompareRequest(a=_image(a), b=_image(b), attributes=list(attributes or ()))
        response = self._call(self._stub.Compare, request)
        return CompareResult(
            model_version=response.model_version,
            scores={
                s.attribute: Score(s.similarity, s.global_similarity, s.local_similarity)
                for s in response.scores
            },
            a_sha256=response.a_sha256,
            b_sha256=response.b_sha256,
        )

    def rank(
        self,
        query: ImageLike,
        attribute: str,
        candidates: Sequence[ImageLike],
        top_k: int = 0,
    ) -> RankResult:
        request = pb.RankRequest(
            query=_image(query),
            attribute=attribute,
            candidates=[_image(c) for c in candidates],
            top_k=top_k,
        )
        response = self._call(self._stub.Rank, request)
        return RankResult(
            model_version=response.model_version,
            attribute=response.attribute,
            query_sha256=response.query_sha256,
            results=[
                RankedCandidate(
                    r.index, r.sha256, r.similarity, r.global_similarity, r.local_similarity
                )
                for r in response.results
            ],
        )

    def embed_stream(
        self,
        images: Iterable[ImageLike],
        attributes: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[EmbedResult | StreamError]:
        """Embed many images over one stream; yields results (or per-item errors) in order.

        The server gives each item its own deadline; `timeout` bounds the whole stream (None:
        no bound, for streams of any length)."""
        names = list(attributes or ())
        requests = (pb.EmbedRequest(image=_image(i), attributes=names) for i in images)
        try:
            stream = self._stub.EmbedStream(requests, timeout=timeout, metadata=self._metadata)
            for item in stream:
                if item.WhichOneof("outcome") == "error":
                    yield StreamError(int(item.index), item.error.code, item.error.message)
                else:
                    yield _embed_result(item.result)
        except grpc.RpcError as error:
            raise _client_error(error) from None

    # -- catalogue (docs/catalogue.md) -----------------------------------------------------------
    def upsert_items(self, items: Iterable[CatalogueItem]) -> Iterator[UpsertResult]:
        """Index items over one stream; yields one result per item, in order. No deadline is set
        on the stream (each item has its own on the server), so a long catalogue is not cut."""
        requests = (calls.upsert_request(item, _image) for item in items)
        try:
            for message in self._stub.UpsertItems(requests, metadata=self._metadata):
                yield calls.upsert_result(message)
        except grpc.RpcError as error:
            raise _client_error(error) from None

    def search_items(
        self,
        query: ImageLike | ItemRef,
        attributes: Sequence[str],
        top_k: int = 10,
        filter_expression: str = "",
        exclude_query_item: bool = False,
    ) -> CatalogueSearch:
        """The top_k catalogue items per attribute for an image, a Sha256Ref or an ItemRef."""
        request = calls.search_request(
            query, attributes, top_k, filter_expression, exclude_query_item, _image
        )
        return calls.search_result(self._call(self._stub.SearchItems, request))

    def delete_items(self, item_ids: Sequence[str]) -> DeleteResult:
        request = pb.DeleteItemsRequest(item_ids=list(item_ids))
        return calls.delete_result(self._call(self._stub.DeleteItems, request))

    def catalogue_stats(self) -> CatalogueStats:
        return calls.stats_result(self._call(self._stub.CatalogueStats, pb.CatalogueStatsRequest()))

    def list_items(self, model_version: str = "") -> Iterator[ListedItem]:
        request = pb.ListItemsRequest(model_version=model_version)
        try:
            yield from calls.listed_items(self._stub.ListItems(request, metadata=self._metadata))
        except grpc.RpcError as error:
            raise _client_error(error) from None

    def start_reindex(self, source_version: str) -> VersionStats:
        request = pb.StartReindexRequest(source_version=source_version)
        return calls.version_stats(self._call(self._stub.StartReindex, request))

    def finish_reindex(self) -> VersionStats:
        return calls.version_stats(self._call(self._stub.FinishReindex, pb.FinishReindexRequest()))

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _client_error(error) from None


def _client_error(error: grpc.RpcError) -> ClientError:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    return ClientError(code.name if code is not None else "UNKNOWN", details or "")


def _credentials(tls: TlsOptions) -> grpc.ChannelCredentials:
    def read(path: Path | None) -> bytes | None:
        return Path(path).read_bytes() if path else None

    return grpc.ssl_channel_credentials(
        root_certificates=read(tls.ca_cert),
        private_key=read(tls.client_key),
        certificate_chain=read(tls.client_cert),
    )


def _image(image: ImageLike) -> pb.ImageRef:
    if isinstance(image, Sha256Ref):
        return pb.ImageRef(sha256=image.sha256)
    if isinstance(image, bytes | bytearray | memoryview):
        return pb.ImageRef(data=bytes(image))
    path = Path(image)
    try:
        return pb.ImageRef(data=path.read_bytes())
    except OSError as error:
        raise AsenError(f"cannot read image {path}: {error.strerror}") from None


def _embed_result(response: pb.EmbedResponse) -> EmbedResult:
    embeddings: dict[str, Embedding] = {}
    for e in response.embeddings:
        attention = None
        if e.attention.height:
            attention = np.asarray(e.attention.values, dtype=np.float32).reshape(
                e.attention.height, e.attention.width
            )
        embeddings[e.attribute] = Embedding(
            vector=np.asarray(e.embedding, dtype=np.float32),
            roi=(e.roi.x0, e.roi.y0, e.roi.x1, e.roi.y1),
            cached=e.cached,
            attention=attention,
        )
    return EmbedResult(response.model_version, response.image_sha256, embeddings)
