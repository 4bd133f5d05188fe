{{/*
Names and labels shared by every template of the chart.
*/}}

{{/* The chart name, or nameOverride; at most 63 characters (a DNS label). */}}
{{- define "metallb.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every object name: fullnameOverride when set; else the release name when it already
contains the chart name; else "<release>-<chart name>".
*/}}
{{- define "metallb.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "metallb.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "metallb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metallb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "metallb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "metallb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "metallb.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- .Values.controller.serviceAccount.name | default (printf "%s-controller" (include "metallb.fullname" .)) -}}
{{- else -}}
{{- .Values.controller.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "metallb.speaker.serviceAccountName" -}}
{{- if .Values.speaker.serviceAccount.create -}}
{{- .Values.speaker.serviceAccount.name | default (printf "%s-speaker" (include "metallb.fullname" .)) -}}
{{- else -}}
{{- .Values.speaker.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when configInline holds a configuration. */}}
{{- define "metallb.hasInlineConfig" -}}
{{- if and .Values.configInline (gt (len .Values.configInline) 0) -}}true{{- end -}}
{{- end -}}

{{/*
The ConfigMap both components read: existingConfigMap when set, else <fullname>. With configInline
the chart writes that ConfigMap itself (also under the existingConfigMap name, as upstream's chart
does when both are set).
*/}}
{{- define "metallb.configMapName" -}}
{{- .Values.existingConfigMap | default (include "metallb.fullname" .) | trunc 253 -}}
{{- end -}}

{{/* The memberlist key Secret (created by the controller at run time, not by the chart). */}}
{{- define "metallb.secretName" -}}
{{- .Values.speaker.secretName | default (printf "%s-memberlist" (include "metallb.fullname" .)) | trunc 253 -}}
{{- end -}}

{{- define "metallb.controller.deploymentName" -}}
{{- printf "%s-controller" (include "metallb.fullname" .) -}}
{{- end -}}

{{- define "metallb.speaker.daemonSetName" -}}
{{- printf "%s-speaker" (include "metallb.fullname" .) -}}
{{- end -}}

{{/* "<repository>:<tag>", the tag defaulting to the chart's appVersion. */}}
{{- define "metallb.image" -}}
{{- printf "%s:%s" .repository (toString (.tag | default .appVersion)) -}}
{{- end -}}

{{/* A probe on /metrics of the monitoring port; argument: the probe's values. */}}
{{- define "metallb.probe" -}}
httpGet:
  path: /metrics
  port: monitoring
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
successThreshold: {{ .successThreshold }}
failureThreshold: {{ .failureThreshold }}
{{- end -}}
