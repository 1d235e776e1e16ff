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
{{- .Values.config.datastorage.url }}
{{- end }}
{{- end }}

{{/* The controller's configuration file, in the platform's spelling (empty optional values left out). */}}
{{- define "kubernaut-wfe.config" -}}
{{- $datastorage := omit .Values.config.datastorage "url" "healthUrl" "caFile" "tokenFile" }}
{{- $_ := set $datastorage "url" (include "kubernaut-wfe.datastorageUrl" .) }}
{{- range $key := list "healthUrl" "caFile" "tokenFile" }}
{{- with get $.Values.config.datastorage $key }}{{ $_ := set $datastorage $key . }}{{ end }}
{{- end }}
{{- $controller := omit .Values.config.controller "leaderElectionNamespace" }}
{{- $_ := set $controller "leaderElection" .Values.leaderElection.enabled }}
{{- with .Values.config.controller.leaderElectionNamespace }}{{ $_ := set $controller "leaderElectionNamespace" . }}{{ end }}
{{- dict "execution" .Values.config.execution "datastorage" $datastorage "controller" $controller "logging" .Values.config.logging | toYaml }}
{{- end }}

{{/* The checksum that rolls the pods: of the configuration without logging.level, which the
running controller applies without a restart. */}}
{{- define "kubernaut-wfe.configChecksum" -}}
{{- $config := include "kubernaut-wfe.config" . | fromYaml }}
{{- $_ := set $config "logging" (omit (get $config "logging" | default dict) "level") }}
{{- toYaml $config | sha256sum }}
{{- end }}

{{/* The Lease's namespace: the configured one, else the release namespace (the controller's own). */}}
{{- define "kubernaut-wfe.leaseNamespace" -}}
{{- default .Release.Namespace .Values.config.controller.leaderElectionNamespace }}
{{- end }}
