{{/* Chart name, truncated to the 63 characters Kubernetes allows in a label. */}}
{{- define "asen.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; component names are suffixed to it. */}}
{{- define "asen.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "asen.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "asen.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "asen.gateway.fullname" -}}{{ include "asen.fullname" . | trunc 55 }}-gateway{{- end }}
{{- define "asen.gateway.headlessName" -}}{{ include "asen.fullname" . | trunc 46 }}-gateway-headless{{- end }}
{{- define "asen.gateway.metricsName" -}}{{ include "asen.fullname" . | trunc 47 }}-gateway-metrics{{- end }}
{{- define "asen.triton.fullname" -}}{{ include "asen.fullname" . | trunc 56 }}-triton{{- end }}
{{- define "asen.triton.discoveryName" -}}{{ include "asen.fullname" . | trunc 46 }}-triton-discovery{{- end }}
{{- define "asen.redis.fullname" -}}{{ include "asen.fullname" . | trunc 57 }}-redis{{- end }}

{{/* Labels shared by every object of the release. */}}
{{- define "asen.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: asen
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "asen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "asen.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "asen.componentLabels" -}}
{{ include "asen.labels" .ctx }}
{{ include "asen.selectorLabels" . }}
{{- end }}

{{/* "repository:tag", or "repository:tag@sha256:..." with a digest (the digest decides what
runs; the tag stays for people). The tag falls back to the chart's appVersion. */}}
{{- define "asen.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* True when the Prometheus Operator CRDs are served by the cluster. */}}
{{- define "asen.monitoringApiAvailable" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end -}}
{{- end }}

{{/* Name and key of the Secret holding the bundled Redis password. The chart never generates
a password: a generated one (randAlphaNum, lookup) changes whenever the chart is rendered
without cluster access (GitOps controllers, `helm template`), and Redis and the gateways would
disagree. The Secret is auth.existingSecret, or <release>-asen-redis-auth, which the chart
creates only from auth.password and otherwise expects to exist (NOTES and docs say how). */}}
{{- define "asen.redis.secretName" -}}
{{- default (printf "%s-auth" (include "asen.redis.fullname" .)) .Values.redis.bundled.auth.existingSecret -}}
{{- end }}
{{- define "asen.redis.secretKey" -}}
{{- if .Values.redis.bundled.auth.existingSecret -}}
{{- .Values.redis.bundled.auth.existingSecretKey -}}
{{- else -}}
redis-password
{{- end -}}
{{- end }}

{{/* The Redis URL the gateway connects to (password passed separately). */}}
{{- define "asen.redis.url" -}}
{{- if eq .Values.redis.mode "bundled" -}}
redis://{{ include "asen.redis.fullname" . }}:{{ .Values.redis.bundled.port }}/0
{{- else if eq .Values.redis.mode "external" -}}
{{ .Values.redis.external.url }}
{{- end -}}
{{- end }}

{{/* Pod selector of the Prometheus server, used by NetworkPolicies on metrics ports. */}}
{{- define "asen.prometheusPeer" -}}
- namespaceSelector:
    {{- toYaml .Values.monitoring.prometheus.namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .Values.monitoring.prometheus.podSelector | nindent 4 }}
{{- end }}

{{/* Cross-field checks a JSON schema cannot express. */}}
{{- define "asen.validate" -}}
{{- range $name, $hpa := dict "gateway" .Values.gateway.autoscaling "triton" .Values.triton.autoscaling }}
{{- if and $hpa.enabled (gt (int $hpa.minReplicas) (int $hpa.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) must not exceed maxReplicas (%d)" $name (int $hpa.minReplicas) (int $hpa.maxReplicas)) }}
{{- end }}
{{- end }}
{{- $g := .Values.gateway }}
{{- if le (float64 $g.terminationGracePeriodSeconds) (addf $g.preStopSleepSeconds $g.shutdownDelaySeconds $g.shutdownGraceSeconds) }}
{{- fail "gateway.terminationGracePeriodSeconds must exceed preStopSleepSeconds + shutdownDelaySeconds + shutdownGraceSeconds, or in-flight calls are killed" }}
{{- end }}
{{- $t := .Values.triton }}
{{- if le (int $t.terminationGracePeriodSeconds) (add $t.preStopSleepSeconds $t.exitTimeoutSeconds | int) }}
{{- fail "triton.terminationGracePeriodSeconds must exceed preStopSleepSeconds + exitTimeoutSeconds, or in-flight inferences are killed" }}
{{- end }}
{{- $c := .Values.catalogue }}
{{- if and (eq $c.mode "lite") (not $c.lite.persistence.enabled) }}
{{- fail "catalogue.mode lite keeps a Milvus Lite file in the gateway pod: set catalogue.lite.persistence.enabled (a PersistentVolumeClaim), or use catalogue.mode external (a Milvus server); without a persistent volume the catalogue is lost with the pod" }}
{{- end }}
{{- if and (eq $c.mode "lite") (or .Values.gateway.autoscaling.enabled (gt (int .Values.gateway.replicas) 1)) }}
{{- fail "catalogue.mode lite needs exactly one gateway pod (gateway.replicas: 1, gateway.autoscaling.enabled: false): a Milvus Lite file belongs to one process; use catalogue.mode external to scale" }}
{{- end }}
{{- if and .Values.networkPolicy.gatewayEgress.enabled (eq .Values.gateway.discovery.mode "kubernetes") (not .Values.networkPolicy.gatewayEgress.kubernetesApiCidrs) }}
{{- fail "networkPolicy.gatewayEgress.kubernetesApiCidrs is required with gateway.discovery.mode kubernetes: the gateway watches EndpointSlices through the API server" }}
{{- end }}
{{- if and .Values.networkPolicy.gatewayEgress.enabled (eq .Values.redis.mode "external") (not .Values.networkPolicy.gatewayEgress.redisPeers) }}
{{- fail "networkPolicy.gatewayEgress.redisPeers is required with redis.mode external: where may the gateway reach Redis?" }}
{{- end }}
{{- if and .Values.networkPolicy.gatewayEgress.enabled (eq $c.mode "external") (not $c.external.networkPeers) }}
{{- fail "catalogue.external.networkPeers is required with networkPolicy.gatewayEgress.enabled and catalogue.mode external: where may the gateway reach Milvus?" }}
{{- end }}
{{- if and .Values.gateway.tls.clientAuth (not .Values.gateway.tls.enabled) }}
{{- fail "gateway.tls.clientAuth requires gateway.tls.enabled: mutual TLS needs a server certificate" }}
{{- end }}
{{- if and (eq .Values.triton.modelRepository.source "objectStorage") (not (regexMatch "^(s3|gs|as)://" .Values.triton.modelRepository.uri)) }}
{{- fail "triton.modelRepository.uri must start with s3://, gs:// or as:// when source is objectStorage" }}
{{- end }}
{{- range .Values.triton.extraArgs }}
{{- if regexMatch "^--(model-repository|model-control-mode|allow-http|http-port|grpc-port|metrics-port|allow-metrics|strict-readiness|exit-on-error|exit-timeout-secs)(=|$)" . }}
{{- fail (printf "triton.extraArgs: %s is set by the chart from its values (modelRepository, http, ports, exitTimeoutSeconds; the model control mode is none by design, docs/deployment.md)" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Gateway probe handler; call with (dict "ctx" $ "check" "liveness"|"readiness").
Both ask the gateway's grpc.health.v1 service: "liveness" (SERVING while the process runs, never
dependent on Triton) or "asen.v1.FashionSimilarity" (readiness: a ready Triton endpoint). The
kubelet's native gRPC probe speaks plaintext only, so with TLS on the probe is the exec command
`python -m gateway.probe`, which speaks TLS (and mutual TLS) to the same health service. */}}
{{- define "asen.gateway.probeHandler" -}}
{{- $g := .ctx.Values.gateway -}}
{{- if $g.tls.enabled -}}
exec:
  command: ["python", "-m", "gateway.probe", {{ .check | quote }}]
{{- else -}}
grpc:
  port: {{ $g.grpcPort }}
  service: {{ get (dict "liveness" "liveness" "readiness" "asen.v1.FashionSimilarity") .check | quote }}
{{- end -}}
{{- end }}

{{/* Triton readiness probe handler: /v2/health/ready, or the gRPC health service (the same
ready state in Triton) when the HTTP endpoint is off. */}}
{{- define "asen.triton.readyHandler" -}}
{{- if .Values.triton.http.enabled -}}
httpGet:
  path: /v2/health/ready
  port: http
{{- else -}}
grpc:
  port: 8001
{{- end -}}
{{- end }}

{{/* True when Triton pods mount a TensorRT engine cache (only GPU pods build engines). */}}
{{- define "asen.triton.engineCache" -}}
{{- if and .Values.triton.gpu.enabled .Values.triton.engineCache.enabled }}true{{ end -}}
{{- end }}

{{/* runbook_url of an alert: a section of docs/runbooks.md (its heading is the alert name). */}}
{{- define "asen.runbookUrl" -}}
{{- printf "%s#%s" .ctx.Values.monitoring.prometheusRule.runbookBaseUrl (lower .alert) -}}
{{- end }}

{{/* True when the bundled Redis runs with its Prometheus exporter sidecar. */}}
{{- define "asen.redis.exporterEnabled" -}}
{{- if and (eq .Values.redis.mode "bundled") .Values.redis.bundled.exporter.enabled }}true{{ end -}}
{{- end }}

{{/* Pod-level extension points shared by the workloads; call with
(dict "ctx" $ "values" $component "component" "gateway"). Spread constraints without a
labelSelector get the component's selector labels. */}}
{{- define "asen.podExtensions" -}}
{{- with .values.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
{{- $constraint := . }}
{{- if not (hasKey $constraint "labelSelector") }}
{{- $constraint = merge (dict "labelSelector" (dict "matchLabels" (include "asen.selectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml))) $constraint }}
{{- end }}
- {{ toYaml $constraint | nindent 2 | trim }}
{{- end }}
{{- end }}
{{- end }}

{{/* Extra pod labels (never part of the selector) and annotations of a component's pods. */}}
{{- define "asen.podMetadata" -}}
labels:
  {{- include "asen.componentLabels" (dict "ctx" .ctx "component" .component) | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Name of the claim holding the Milvus Lite file. */}}
{{- define "asen.catalogue.claimName" -}}
{{- default (printf "%s-catalogue" (include "asen.gateway.fullname" .)) .Values.catalogue.lite.persistence.existingClaim -}}
{{- end }}

{{/* ASEN_CATALOGUE_URI: the Milvus server, the Lite file, or empty (no catalogue). */}}
{{- define "asen.catalogue.uri" -}}
{{- if eq .Values.catalogue.mode "external" -}}
{{ .Values.catalogue.external.uri }}
{{- else if eq .Values.catalogue.mode "lite" -}}
{{ .Values.catalogue.lite.path }}
{{- end -}}
{{- end }}
