{{/* Egress rules both NetworkPolicies share: the gateway and DNS. */}}
{{- define "slicewise-agent.gatewayEgress" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    {{- range $np.gateway.cidrs }}
    - ipBlock:
        cidr: {{ . }}
        {{- $cidr := . }}
        {{- $except := list }}
        {{- /* An except range must lie inside its cidr; only the catch-all holds them all. */}}
        {{- if eq $cidr "0.0.0.0/0" }}{{ $except = $np.gateway.except }}{{ end }}
        {{- with $except }}
        except: {{ toJson . }}
        {{- end }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ $np.gateway.port }}
{{- if $np.dns.enabled }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml $np.dns.podLabels | nindent 10 }}
  ports:
    - protocol: UDP
      port: {{ $np.dns.port }}
    - protocol: TCP
      port: {{ $np.dns.port }}
{{- end }}
{{- end }}

{{/*
Egress to the kube-apiserver: the configured addresses, else the endpoints of the `kubernetes`
Service as found at install time, else (nothing to look up, e.g. helm template) the ports alone.
*/}}
{{- define "slicewise-agent.apiServerEgress" -}}
{{- $np := .Values.networkPolicy }}
{{- $cidrs := $np.kubeApiServer.cidrs }}
{{- $ports := $np.kubeApiServer.ports }}
{{- if not $cidrs }}
{{- $endpoints := lookup "v1" "Endpoints" "default" "kubernetes" }}
{{- range ($endpoints.subsets | default list) }}
{{- range (.addresses | default list) }}{{ $cidrs = append $cidrs (printf "%s/32" .ip) }}{{ end }}
{{- range (.ports | default list) }}{{ $ports = append $ports .port }}{{ end }}
{{- end }}
{{- end }}
- ports:
    {{- range $ports | uniq }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- if $cidrs }}
  to:
    {{- range $cidrs | uniq }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
