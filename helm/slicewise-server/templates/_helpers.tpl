{{/* Names, labels, image and the pieces every Slicewise server pod shares. */}}

{{- define "slicewise-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "slicewise-server.fullname" -}}
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

{{/* Name of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "slicewise-server.componentName" -}}
{{- printf "%s-%s" (include "slicewise-server.fullname" .root | trunc 45 | trimSuffix "-") .component }}
{{- end }}

{{- define "slicewise-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slicewise-server.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of every object; pass (dict "root" $ "component" NAME). */}}
{{- define "slicewise-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slicewise-server.selectorLabels" . }}
app.kubernetes.io/part-of: slicewise
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "slicewise-server.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "slicewise-server.serviceAccountName" -}}
{{- default (include "slicewise-server.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* An env var read from a Secret: (dict "name" ENV "secret" NAME "key" KEY). */}}
{{- define "slicewise-server.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* Connection settings of a process, under its environment prefix: (dict "root" $ "prefix" P). */}}
{{- define "slicewise-server.connectionEnv" -}}
{{- $v := .root.Values }}
{{- include "slicewise-server.secretEnv" (dict "name" (printf "%sDATABASE_URL" .prefix) "secret" $v.database.existingSecret "key" $v.database.urlKey) }}
{{ include "slicewise-server.secretEnv" (dict "name" (printf "%sREDIS_URL" .prefix) "secret" $v.redis.existingSecret "key" $v.redis.urlKey) }}
{{ include "slicewise-server.secretEnv" (dict "name" (printf "%sKAFKA_BOOTSTRAP" .prefix) "secret" $v.kafka.existingSecret "key" $v.kafka.bootstrapKey) }}
- name: {{ printf "%sLOG_JSON" .prefix }}
  value: {{ $v.logJson | quote }}
{{- with $v.tracing.otlpEndpoint }}
# Server processes export their spans once an OTLP endpoint is set.
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* What every worker process (consumers, Celery worker and beat) is started with. */}}
{{- define "slicewise-server.workerEnv" -}}
{{ include "slicewise-server.connectionEnv" (dict "root" . "prefix" "SLICEWISE_WORKER_") }}
- name: SLICEWISE_WORKER_LOG_LEVEL
  value: {{ .Values.logLevel | upper | quote }}
# The metrics endpoint listens on loopback unless told otherwise; Prometheus scrapes the pod IP.
- name: SLICEWISE_WORKER_METRICS_HOST
  value: "0.0.0.0"
- name: SLICEWISE_WORKER_METRICS_PORT
  value: {{ .Values.workers.metricsPort | quote }}
{{- with .Values.workers.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Where newer price data is fetched from (the refresh task runs in the Celery worker; beat
sends it on the refresh interval). */}}
{{- define "slicewise-server.pricingEnv" -}}
{{- with .Values.pricing.catalogueUrl }}
- name: SLICEWISE_WORKER_PRICING_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.pricing.spotAdvisorUrl }}
- name: SLICEWISE_WORKER_SPOT_ADVISOR_URL
  value: {{ . | quote }}
{{- end }}
- name: SLICEWISE_WORKER_PRICING_REFRESH_SECONDS
  value: {{ .Values.pricing.refreshSeconds | quote }}
{{- end }}

{{/* The token issuer: the configured one, else the first ingress host over https. */}}
{{- define "slicewise-server.issuer" -}}
{{- $g := .Values.gateway }}
{{- if $g.issuer }}
{{- $g.issuer }}
{{- else if and $g.ingress.enabled $g.ingress.hosts }}
{{- printf "https://%s" (first $g.ingress.hosts).host }}
{{- end }}
{{- end }}

{{/* Pod-level settings every server pod shares (it never needs the Kubernetes API). */}}
{{- define "slicewise-server.podCommon" -}}
serviceAccountName: {{ include "slicewise-server.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Container-level settings every server container shares. */}}
{{- define "slicewise-server.containerCommon" -}}
image: {{ include "slicewise-server.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}

{{/* A writable /tmp on a read-only root filesystem. */}}
{{- define "slicewise-server.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{/* Scheduling values of a component: pass its values block. */}}
{{- define "slicewise-server.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* How the consumer workers scale: keda, hpa or none (engine auto asks the cluster). */}}
{{- define "slicewise-server.workerScaler" -}}
{{- $engine := .Values.workers.autoscaling.engine }}
{{- if eq $engine "auto" }}
{{- if .Capabilities.APIVersions.Has "keda.sh/v1alpha1" }}keda{{ else }}hpa{{ end }}
{{- else }}
{{- $engine }}
{{- end }}
{{- end }}

{{/* Whether to render ServiceMonitors (enabled auto asks the cluster). */}}
{{- define "slicewise-server.serviceMonitorEnabled" -}}
{{- $enabled := .Values.monitoring.serviceMonitor.enabled }}
{{- if eq (toString $enabled) "auto" }}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- else if $enabled }}true{{ end }}
{{- end }}

{{- define "slicewise-server.prometheusRuleEnabled" -}}
{{- $enabled := .Values.monitoring.prometheusRule.enabled }}
{{- if eq (toString $enabled) "auto" }}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- else if $enabled }}true{{ end }}
{{- end }}

{{/* The consumer workers, in a fixed order: name, command word and values. */}}
{{- define "slicewise-server.consumers" -}}
- {component: ingest-worker, command: ingest, key: ingest}
- {component: spot-worker, command: spot, key: spot}
{{- end }}

{{/* A headless Service that exposes a component's metrics port to Prometheus: (dict "root" $ "component" C), and "port" when it is not workers.metricsPort. */}}
{{- define "slicewise-server.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ printf "%s-metrics" (include "slicewise-server.componentName" .) }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "slicewise-server.labels" . | nindent 4 }}
    slicewise.io/metrics: "true"
spec:
  clusterIP: None
  selector:
    {{- include "slicewise-server.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port | default .root.Values.workers.metricsPort }}
      targetPort: metrics
      protocol: TCP
{{- end }}

{{/* HorizontalPodAutoscaler API: autoscaling/v2 (1.23+), else v2beta2 (same fields) on older clusters. */}}
{{- define "slicewise-server.hpaApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2" }}autoscaling/v2{{ else }}autoscaling/v2beta2{{ end }}
{{- end }}

{{/* PodDisruptionBudget API: policy/v1 (1.21+), else v1beta1 (same fields) on older clusters. */}}
{{- define "slicewise-server.pdbApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1" }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}
