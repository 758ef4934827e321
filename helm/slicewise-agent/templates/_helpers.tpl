{{/* Names, labels, image and the settings every container shares. */}}

{{- define "slicewise-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "slicewise-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component: (dict "root" $ "component" "executor"). */}}
{{- define "slicewise-agent.componentName" -}}
{{- printf "%s-%s" (include "slicewise-agent.fullname" .root | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{- define "slicewise-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slicewise-agent.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of every object; pass (dict "root" $ "component" NAME). */}}
{{- define "slicewise-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slicewise-agent.selectorLabels" . }}
app.kubernetes.io/part-of: slicewise
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "slicewise-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "slicewise-agent.agentServiceAccountName" -}}
{{- default (include "slicewise-agent.componentName" (dict "root" . "component" "agent")) .Values.agent.serviceAccount.name }}
{{- end }}

{{- define "slicewise-agent.executorServiceAccountName" -}}
{{- default (include "slicewise-agent.componentName" (dict "root" . "component" "executor")) .Values.executor.serviceAccount.name }}
{{- end }}

{{- define "slicewise-agent.credentialsSecretName" -}}
{{- default (include "slicewise-agent.componentName" (dict "root" . "component" "credentials")) .Values.credentials.existingSecret }}
{{- end }}

{{- define "slicewise-agent.caEnabled" -}}
{{- if or .Values.customCA.certificates .Values.customCA.existingConfigMap }}true{{ end }}
{{- end }}

{{- define "slicewise-agent.caConfigMapName" -}}
{{- default (include "slicewise-agent.componentName" (dict "root" . "component" "ca")) .Values.customCA.existingConfigMap }}
{{- end }}

{{/* Where the custom CA bundle is mounted. */}}
{{- define "slicewise-agent.caDir" -}}/etc/slicewise/ca{{- end }}

{{/* Proxy and trust settings, identical in every container. */}}
{{- define "slicewise-agent.connectionEnv" -}}
{{- if .Values.proxy.https }}
- name: HTTPS_PROXY
  value: {{ .Values.proxy.https | quote }}
{{- end }}
{{- if .Values.proxy.http }}
- name: HTTP_PROXY
  value: {{ .Values.proxy.http | quote }}
{{- end }}
{{- if or .Values.proxy.https .Values.proxy.http }}
# The in-cluster Kubernetes client dials the apiserver's service IP, which no name pattern covers.
- name: NO_PROXY
  value: {{ printf "%s,$(KUBERNETES_SERVICE_HOST)" .Values.proxy.noProxy | quote }}
{{- end }}
{{- if include "slicewise-agent.caEnabled" . }}
- name: SSL_CERT_FILE
  value: {{ printf "%s/%s" (include "slicewise-agent.caDir" .) .Values.customCA.key | quote }}
{{- end }}
{{- with .Values.tracing.otlpEndpoint }}
# Tracing is off in the agent and executor unless an exporter is named.
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Volume mounts every container has: a writable /tmp, and the CA bundle when configured. */}}
{{- define "slicewise-agent.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "slicewise-agent.caEnabled" . }}
- name: custom-ca
  mountPath: {{ include "slicewise-agent.caDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "slicewise-agent.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if include "slicewise-agent.caEnabled" . }}
- name: custom-ca
  configMap:
    name: {{ include "slicewise-agent.caConfigMapName" . }}
    items:
      - key: {{ .Values.customCA.key }}
        path: {{ .Values.customCA.key }}
{{- end }}
{{- end }}

{{/* An env var read from the credentials Secret: (dict "root" $ "name" ENV "key" KEYNAME). */}}
{{- define "slicewise-agent.credentialEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "slicewise-agent.credentialsSecretName" .root }}
      key: {{ .key }}
{{- end }}

{{/* The agent's identity and reporting settings, shared by the collector and the spot watcher. */}}
{{- define "slicewise-agent.agentIdentityEnv" -}}
- name: SLICEWISE_AGENT_GATEWAY_URL
  value: {{ .Values.gateway.url | quote }}
- name: SLICEWISE_AGENT_CLUSTER_ID
  value: {{ .Values.clusterId | quote }}
{{- with .Values.clusterName }}
- name: SLICEWISE_AGENT_CLUSTER_NAME
  value: {{ . | quote }}
{{- end }}
- name: SLICEWISE_AGENT_PROVIDER
  value: {{ .Values.cloud.provider | quote }}
{{- with .Values.cloud.region }}
- name: SLICEWISE_AGENT_REGION
  value: {{ . | quote }}
{{- end }}
{{ include "slicewise-agent.credentialEnv" (dict "root" . "name" "SLICEWISE_AGENT_CLIENT_ID" "key" .Values.credentials.keys.agentClientId) }}
{{ include "slicewise-agent.credentialEnv" (dict "root" . "name" "SLICEWISE_AGENT_CLIENT_SECRET" "key" .Values.credentials.keys.agentClientSecret) }}
- name: SLICEWISE_AGENT_LOG_JSON
  value: {{ .Values.logJson | quote }}
- name: SLICEWISE_AGENT_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* "true" when the spot watchers post their notices to the executor. */}}
{{- define "slicewise-agent.spotNoticesEnabled" -}}
{{- if and .Values.executor.enabled .Values.spotWatcher.enabled .Values.executor.spotNotices.enabled }}true{{ end }}
{{- end }}

{{- define "slicewise-agent.spotNoticeSecretName" -}}
{{- default (include "slicewise-agent.componentName" (dict "root" . "component" "spot-notices")) .Values.executor.spotNotices.existingSecret }}
{{- end }}

{{/* The executor's notice endpoint, through its Service. */}}
{{- define "slicewise-agent.executorNoticeUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "slicewise-agent.componentName" (dict "root" . "component" "executor")) .Release.Namespace .Values.executor.spotNotices.port }}
{{- end }}

{{/* The shared notice token, read from its Secret. */}}
{{- define "slicewise-agent.spotNoticeTokenEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "slicewise-agent.spotNoticeSecretName" .root }}
      key: {{ .root.Values.executor.spotNotices.tokenKey }}
{{- end }}

{{/* Refuse to render without the values an install cannot work without. */}}
{{- define "slicewise-agent.validate" -}}
{{- $missing := list }}
{{- if not .Values.clusterId }}{{ $missing = append $missing "clusterId" }}{{ end }}
{{- if not .Values.cloud.provider }}{{ $missing = append $missing "cloud.provider" }}{{ end }}
{{- if not .Values.gateway.url }}{{ $missing = append $missing "gateway.url" }}{{ end }}
{{- if not .Values.credentials.existingSecret }}
{{- if or .Values.agent.enabled .Values.spotWatcher.enabled }}
{{- if not .Values.credentials.agent.clientId }}{{ $missing = append $missing "credentials.agent.clientId" }}{{ end }}
{{- if not .Values.credentials.agent.clientSecret }}{{ $missing = append $missing "credentials.agent.clientSecret" }}{{ end }}
{{- end }}
{{- if .Values.executor.enabled }}
{{- if not .Values.credentials.executor.clientId }}{{ $missing = append $missing "credentials.executor.clientId" }}{{ end }}
{{- if not .Values.credentials.executor.clientSecret }}{{ $missing = append $missing "credentials.executor.clientSecret" }}{{ end }}
{{- end }}
{{- end }}
{{- if and .Values.executor.enabled (not .Values.executor.trustedKeys) }}{{ $missing = append $missing "executor.trustedKeys" }}{{ end }}
{{- if $missing }}
{{- fail (printf "slicewise-agent: set %s (or credentials.existingSecret for the credentials)" (join ", " $missing)) }}
{{- end }}
{{- if not (hasPrefix "https://" .Values.gateway.url) }}
{{- fail "slicewise-agent: gateway.url must be an https:// URL" }}
{{- end }}
{{- if and .Values.spotWatcher.enabled (not (has .Values.cloud.provider (list "aws" "gcp" "azure"))) }}
{{- fail "slicewise-agent: the spot watcher needs cloud.provider aws, gcp or azure (or spotWatcher.enabled=false)" }}
{{- end }}
{{- if and .Values.customCA.certificates .Values.customCA.existingConfigMap }}
{{- fail "slicewise-agent: set customCA.certificates or customCA.existingConfigMap, not both" }}
{{- end }}
{{- if and (include "slicewise-agent.spotNoticesEnabled" .) (eq (int .Values.executor.spotNotices.port) (int .Values.executor.metricsPort)) }}
{{- fail "slicewise-agent: executor.spotNotices.port and executor.metricsPort must differ" }}
{{- end }}
{{- end }}
