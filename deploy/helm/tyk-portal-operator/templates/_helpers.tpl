{{/* Chart name, truncated to the 63 characters Kubernetes allows in labels. */}}
{{- define "tpo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name used as the prefix of every namespaced object of this release. */}}
{{- define "tpo.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "tpo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tpo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tyk-portal-operator
{{- end }}

{{/* Labels that select the operator pods. */}}
{{- define "tpo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tpo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the operator's ServiceAccount. */}}
{{- define "tpo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tpo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: digest wins over tag; the tag defaults to the chart's appVersion. */}}
{{- define "tpo.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the TykProvider's API key. */}}
{{- define "tpo.providerSecretName" -}}
{{- default (printf "%s-tyk-credentials" (include "tpo.fullname" .)) .Values.provider.existingSecret }}
{{- end }}

{{/*
Cluster-scoped objects (ClusterRoles, bindings) are named after the release and its namespace, so two
releases in different namespaces do not collide.
*/}}
{{- define "tpo.clusterName" -}}
{{- printf "%s-%s" (include "tpo.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Values that cannot be expressed in the JSON schema alone. */}}
{{- define "tpo.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.peering.enabled) }}
{{- fail "replicaCount > 1 requires peering.enabled=true: without kopf peering every replica would act on every object" }}
{{- end }}
{{- if and .Values.provider.create (not .Values.provider.url) }}
{{- fail "provider.create=true requires provider.url" }}
{{- end }}
{{- if and .Values.provider.create (not .Values.provider.existingSecret) (not .Values.provider.apiKey) }}
{{- fail "provider.create=true requires provider.existingSecret or provider.apiKey" }}
{{- end }}
{{- if ne (len .Values.watchNamespaces) (len (uniq .Values.watchNamespaces)) }}
{{- fail "watchNamespaces contains duplicates" }}
{{- end }}
{{- end }}

{{/*
Render a CRD stored under files/ with the chart's labels and, when crds.keep is set, the
helm.sh/resource-policy: keep annotation. Argument: (dict "root" $ "path" "files/crds/x.yaml").
*/}}
{{- define "tpo.crd" -}}
{{- $root := .root }}
{{- $crd := $root.Files.Get .path | fromYaml }}
{{- if not $crd.spec }}
{{- fail (printf "%s is not a CRD (run scripts/sync-chart.py)" .path) }}
{{- end }}
{{- $meta := $crd.metadata }}
{{- $labels := merge (default dict $meta.labels) (include "tpo.labels" $root | fromYaml) }}
{{- $_ := set $meta "labels" $labels }}
{{- if $root.Values.crds.keep }}
{{- $annotations := default dict $meta.annotations }}
{{- $_ := set $annotations "helm.sh/resource-policy" "keep" }}
{{- $_ := set $meta "annotations" $annotations }}
{{- end }}
{{- toYaml $crd }}
{{- end }}

{{/*
Annotations for a custom resource whose CRD this same release may be installing.

Helm maps every manifest to an API resource before it creates anything, so on the first install a
TykProvider or KopfPeering cannot be part of the release while its CRD is not yet served. When the
cluster does not know the kind yet (checked through .Capabilities), the object is made a post-install
hook, created after the CRDs, and carries Helm's ownership metadata; from the next upgrade on the
kind is known, the object is an ordinary release resource, and Helm adopts the existing object.
Argument: (dict "root" $ "gvk" "apiportal.dev/v1alpha1/TykProvider").
*/}}
{{- define "tpo.crAnnotations" -}}
{{- if not (.root.Capabilities.APIVersions.Has .gvk) }}
helm.sh/hook: post-install
helm.sh/hook-weight: "0"
meta.helm.sh/release-name: {{ .root.Release.Name }}
meta.helm.sh/release-namespace: {{ .root.Release.Namespace }}
{{- end }}
# Argo CD: the CRD may be part of the same sync, so do not dry-run against a missing kind.
argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
{{- end }}
