"""Credentials for the Kubernetes API: the pod's service account, else a kubeconfig."""

from __future__ import annotations

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException


class DiscoveryConfigError(RuntimeError):
    """Neither in-cluster credentials nor a kubeconfig could be loaded."""


def load_api_client() -> client.ApiClient:
    """An ApiClient from in-cluster config, falling back to kubeconfig ($KUBECONFIG or ~/.kube).

    A private Configuration is filled so the process-wide default is left untouched.
    """
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except ConfigException as error:
        in_cluster_error = error
    try:
        config.load_kube_config(client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError) as error:
        raise DiscoveryConfigError(
            "cannot reach the Kubernetes API: not running in a pod with a service account "
            f"({in_cluster_error}) and no usable kubeconfig ({error}); run the gateway in the "
            "cluster, set KUBECONFIG, or use ASEN_DISCOVERY=static"
        ) from error
    return client.ApiClient(configuration)
