{{/* The chart's name, overridable. */}}
{{- define "kubernaut-wfe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release-qualified name of the controller's objects. */}}
{{- define "kubernaut-wfe.fullname" -}}
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

{{- define "kubernaut-wfe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "kubernaut-wfe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubernaut
{{- end }}

{{- define "kubernaut-wfe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubernaut-wfe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "kubernaut-wfe.auditSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kubernaut-wfe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: audit-service
{{- end }}

{{/* The controller's ServiceAccount (the name deploy/ uses when the release is kubernaut-wfe). */}}
{{- define "kubernaut-wfe.serviceAccountName" -}}
{{- printf "%s-controller" (include "kubernaut-wfe.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubernaut-wfe.auditServiceName" -}}
{{- printf "%s-audit" (include "kubernaut-wfe.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is given. */}}
{{- define "kubernaut-wfe.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The port number of a [HOST]:PORT bind address. */}}
{{- define "kubernaut-wfe.port" -}}
{{- regexFind "[0-9]+$" . }}
{{- end }}

{{/* The DataStorage URL: the in-cluster audit service when it is enabled. */}}
{{- define "kubernaut-wfe.datastorageUrl" -}}
{{- if .Values.auditService.enabled }}
{{- printf "http://%s.%s.svc:8080" (include "kubernaut-wfe.auditServiceName" .) .Release.Namespace }}
{{- else }}
{{- .Values.config.audit.datastorage_url }}
{{- end }}
{{- end }}

{{/* The controller's configuration file. */}}
{{- define "kubernaut-wfe.config" -}}
{{- $audit := omit .Values.config.audit "ca_file" "token_file" "datastorage_url" }}
{{- $_ := set $audit "datastorage_url" (include "kubernaut-wfe.datastorageUrl" .) }}
{{- if .Values.config.audit.ca_file }}{{ $_ := set $audit "ca_file" .Values.config.audit.ca_file }}{{ end }}
{{- if .Values.config.audit.token_file }}{{ $_ := set $audit "token_file" .Values.config.audit.token_file }}{{ end }}
{{- $controller := omit .Values.config.controller "leader_election_namespace" }}
{{- $_ := set $controller "leader_election" .Values.leaderElection.enabled }}
{{- with .Values.config.controller.leader_election_namespace }}{{ $_ := set $controller "leader_election_namespace" . }}{{ end }}
{{- dict "execution" .Values.config.execution "audit" $audit "controller" $controller | toYaml }}
{{- end }}

{{/* The Lease's namespace: the configured one, else the release namespace (the controller's own). */}}
{{- define "kubernaut-wfe.leaseNamespace" -}}
{{- default .Release.Namespace .Values.config.controller.leader_election_namespace }}
{{- end }}
