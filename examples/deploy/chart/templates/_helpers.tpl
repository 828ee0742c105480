{{/* The labels every object carries; the kustomize base's, so both installs select the same pods. */}}
{{- define "drplan.labels" -}}
app.kubernetes.io/name: drplan
app.kubernetes.io/part-of: drplan
{{- end }}

{{- define "drplan.agentLabels" -}}
{{ include "drplan.labels" . }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "drplan.selector" -}}
app.kubernetes.io/name: drplan
app.kubernetes.io/component: agent
{{- end }}
