{{/*
What each executor action type needs from the Kubernetes API, cluster-wide:
- `get` on every target: the executor re-reads it to check the instruction's preconditions;
- the write itself (server-side dry runs are authorized like the real request, so dry-run mode
  needs the same verbs), and the write that undoes it (`delete` for a PDB it created);
- `list` on pods where it verifies the result: after a workload change it waits for the
  workload's pods to be ready, and a drain lists the node's pods and waits (`get`) for each to go.
patch_config_map and create_config_map are namespaced and live in their own Roles;
patch_cluster_policy may be narrowed to named ClusterPolicies and lives in its own ClusterRole.
*/}}
{{- define "slicewise-agent.actionGrants" -}}
patch_resources:
  - {group: apps, resource: deployments, verbs: [get, patch]}
  - {group: apps, resource: statefulsets, verbs: [get, patch]}
  - {group: apps, resource: daemonsets, verbs: [get, patch]}
  - {group: "", resource: pods, verbs: [list]}
patch_scheduling:
  - {group: apps, resource: deployments, verbs: [get, patch]}
  - {group: apps, resource: statefulsets, verbs: [get, patch]}
  - {group: apps, resource: daemonsets, verbs: [get, patch]}
  - {group: "", resource: pods, verbs: [list]}
apply_pdb:
  - {group: policy, resource: poddisruptionbudgets, verbs: [get, create, patch, delete]}
cordon:
  - {group: "", resource: nodes, verbs: [get, patch]}
uncordon:
  - {group: "", resource: nodes, verbs: [get, patch]}
label_node:
  - {group: "", resource: nodes, verbs: [get, patch]}
taint_node:
  - {group: "", resource: nodes, verbs: [get, patch]}
drain:
  - {group: "", resource: nodes, verbs: [get]}
  - {group: "", resource: pods, verbs: [get, list]}
  - {group: "", resource: pods/eviction, verbs: [create]}
# A Job's parallelism is its replica count.
scale:
  - {group: apps, resource: deployments, verbs: [get, patch]}
  - {group: apps, resource: statefulsets, verbs: [get, patch]}
  - {group: batch, resource: jobs, verbs: [get, patch]}
  - {group: "", resource: pods, verbs: [list]}
# `list` lets the executor learn at start whether autoscaling/v2 is served (v2beta2 before 1.23).
apply_hpa:
  - {group: autoscaling, resource: horizontalpodautoscalers, verbs: [get, list, create, patch, delete]}
apply_scaled_object:
  - {group: keda.sh, resource: scaledobjects, verbs: [get, create, patch, delete]}
# `list` finds the HPAs that carry a schedule; `patch` sets minReplicas at each boundary.
schedule_hpa_min_replicas:
  - {group: autoscaling, resource: horizontalpodautoscalers, verbs: [get, list, patch]}
wait_for_node_label:
  - {group: "", resource: nodes, verbs: [get]}
{{- end }}

{{/* Action types switched on in values, in a fixed order, as a JSON list. */}}
{{- define "slicewise-agent.enabledActions" -}}
{{- $enabled := list }}
{{- range $action := list "patch_resources" "patch_scheduling" "apply_pdb" "cordon" "uncordon" "drain" "label_node" "taint_node" "scale" "patch_config_map" "apply_hpa" "apply_scaled_object" "create_config_map" "patch_cluster_policy" "wait_for_node_label" "schedule_hpa_min_replicas" }}
{{- if (get $.Values.executor.actions $action | default dict).enabled }}
{{- $enabled = append $enabled $action }}
{{- end }}
{{- end }}
{{- toJson $enabled }}
{{- end }}

{{/* Enabled action types a tenant policy may approve (mode auto), as a JSON list. */}}
{{- define "slicewise-agent.autoActions" -}}
{{- $auto := list }}
{{- range $action := include "slicewise-agent.enabledActions" . | fromJsonArray }}
{{- if (get $.Values.executor.actions $action).auto }}
{{- $auto = append $auto $action }}
{{- end }}
{{- end }}
{{- toJson $auto }}
{{- end }}

{{/*
The executor's cluster-wide PolicyRules for the enabled action types: grants of several action
types on the same resource are merged, one rule per API group and resource.
*/}}
{{- define "slicewise-agent.executorClusterRules" -}}
{{- $table := include "slicewise-agent.actionGrants" . | fromYaml }}
{{- $merged := dict }}
{{- range $action := include "slicewise-agent.enabledActions" . | fromJsonArray }}
{{- range $grant := get $table $action | default list }}
{{- $key := printf "%s|%s" $grant.group $grant.resource }}
{{- $verbs := concat (get $merged $key | default list) $grant.verbs | uniq | sortAlpha }}
{{- $_ := set $merged $key $verbs }}
{{- end }}
{{- end }}
{{- range $key, $verbs := $merged }}
{{- $parts := splitList "|" $key }}
- apiGroups: [{{ index $parts 0 | quote }}]
  resources: [{{ index $parts 1 | quote }}]
  verbs: {{ toJson $verbs }}
{{- end }}
{{- end }}
