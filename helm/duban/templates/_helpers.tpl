{{/* vim: set filetype=mustache: */}}

{{/*
Chart name, truncated to 63 characters (DNS label).
*/}}
{{- define "duban.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name: <release>-<chart> unless the release name already contains the chart
name; truncated to 63 characters. Component suffixes ("-web", "-worker"…) are added to it, so
keep release names short.
*/}}
{{- define "duban.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Chart label value: name-version.
*/}}
{{- define "duban.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels (never change them: Deployments' selectors are immutable).
*/}}
{{- define "duban.selectorLabels" -}}
app.kubernetes.io/name: {{ include "duban.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Common labels of every resource.
*/}}
{{- define "duban.labels" -}}
helm.sh/chart: {{ include "duban.chart" . }}
{{ include "duban.selectorLabels" . }}
app.kubernetes.io/version: {{ include "duban.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: duban
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels and selector labels of one component: include "duban.componentLabels" (dict "context" $ "component" "web")
*/}}
{{- define "duban.componentLabels" -}}
{{ include "duban.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "duban.componentSelectorLabels" -}}
{{ include "duban.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
metadata.annotations of a resource: commonAnnotations plus the given map.
include "duban.annotations" (dict "context" $ "extra" $map)
*/}}
{{- define "duban.annotations" -}}
{{- $all := merge (deepCopy (default dict .extra)) (deepCopy (default dict .context.Values.commonAnnotations)) -}}
{{- if $all -}}
annotations:
  {{- toYaml $all | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
ServiceAccount of the pods.
*/}}
{{- define "duban.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "duban.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "duban.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag | toString -}}
{{- end -}}

{{/*
Full image reference: registry/repository:tag, or registry/repository@digest.
*/}}
{{- define "duban.image" -}}
{{- $repository := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repository = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (include "duban.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{- define "duban.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
duban.createSecret: "true" when the chart creates its Secret (existingSecret empty).
duban.secretName: the Secret the long-running pods read SECRET_KEY (and the rest) from.
*/}}
{{- define "duban.createSecret" -}}
{{- if not .Values.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "duban.secretName" -}}
{{- default (include "duban.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
Name of the hook copies (migrations Job, ServiceAccount and Secret) that exist before the
release's own resources on the first install.
*/}}
{{- define "duban.migrationsName" -}}
{{- printf "%s-migrations" (include "duban.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Percent-encoding of a URL's user or password part (QueryEscape writes a space as "+").
*/}}
{{- define "duban.urlEscape" -}}
{{- urlquery . | replace "+" "%20" -}}
{{- end -}}

{{/*
SECRET_KEY for the chart's Secret: secretKey, else the one already in the release's Secret (so
that sessions survive upgrades), else a new random one.
*/}}
{{- define "duban.secretKey" -}}
{{- if .Values.secretKey -}}
{{- if lt (len .Values.secretKey) 50 -}}
{{- fail "secretKey: must be at least 50 characters (or leave it empty to generate one)" -}}
{{- end -}}
{{- .Values.secretKey -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "duban.fullname" .) -}}
{{- if and $existing $existing.data (hasKey $existing.data "SECRET_KEY") -}}
{{- index $existing.data "SECRET_KEY" | b64dec -}}
{{- else -}}
{{- randAlphaNum 64 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
DATABASE_URL composed from externalDatabase.*; the password part is "$(DATABASE_PASSWORD)"
(Kubernetes' variable expansion) when it comes from externalDatabase.existingSecret.
*/}}
{{- define "duban.databaseUrl" -}}
{{- $db := .Values.externalDatabase -}}
{{- $auth := include "duban.urlEscape" $db.user -}}
{{- if $db.existingSecret -}}
{{- $auth = printf "%s:$(DATABASE_PASSWORD)" $auth -}}
{{- else if $db.password -}}
{{- $auth = printf "%s:%s" $auth (include "duban.urlEscape" (toString $db.password)) -}}
{{- end -}}
{{- $url := printf "postgresql://%s@%s:%v/%s" $auth $db.host $db.port $db.database -}}
{{- if $db.sslmode -}}
{{- $url = printf "%s?sslmode=%s" $url $db.sslmode -}}
{{- end -}}
{{- $url -}}
{{- end -}}

{{/*
DUBAN_OWNER_DATABASE_URL composed from externalDatabase.* and externalDatabase.owner.*; the password
part is "$(DUBAN_OWNER_DATABASE_PASSWORD)" when it comes from externalDatabase.owner.existingSecret.
*/}}
{{- define "duban.ownerDatabaseUrl" -}}
{{- $db := .Values.externalDatabase -}}
{{- $auth := include "duban.urlEscape" $db.owner.user -}}
{{- if $db.owner.existingSecret -}}
{{- $auth = printf "%s:$(DUBAN_OWNER_DATABASE_PASSWORD)" $auth -}}
{{- else if $db.owner.password -}}
{{- $auth = printf "%s:%s" $auth (include "duban.urlEscape" (toString $db.owner.password)) -}}
{{- end -}}
{{- $url := printf "postgresql://%s@%s:%v/%s" $auth $db.host $db.port $db.database -}}
{{- if $db.sslmode -}}
{{- $url = printf "%s?sslmode=%s" $url $db.sslmode -}}
{{- end -}}
{{- $url -}}
{{- end -}}

{{/*
CELERY_BROKER_URL composed from externalRedis.*.
*/}}
{{- define "duban.brokerUrl" -}}
{{- $redis := .Values.externalRedis -}}
{{- $auth := "" -}}
{{- if $redis.existingSecret -}}
{{- $auth = printf "%s:$(REDIS_PASSWORD)@" (include "duban.urlEscape" $redis.username) -}}
{{- else if $redis.password -}}
{{- $auth = printf "%s:%s@" (include "duban.urlEscape" $redis.username) (include "duban.urlEscape" (toString $redis.password)) -}}
{{- else if $redis.username -}}
{{- $auth = printf "%s@" (include "duban.urlEscape" $redis.username) -}}
{{- end -}}
{{- printf "%s://%s%s:%v/%v" (ternary "rediss" "redis" $redis.tls) $auth $redis.host $redis.port $redis.database -}}
{{- end -}}

{{/*
Checks of combinations the values schema cannot express; fails the render with a message.
Where each secret variable comes from:
  SECRET_KEY         existingSecret, else the chart's Secret
  DATABASE_URL       externalDatabase.host empty: existingSecret's DATABASE_URL; else composed
                     (password from externalDatabase.existingSecret via $(DATABASE_PASSWORD), or
                     the chart's Secret holding the whole URL)
  CELERY_BROKER_URL  the same with externalRedis.*
  EMAIL_URL          email.url in the chart's Secret, else existingSecret's (optional), else unset
  SENTRY_DSN         sentry.dsn in the chart's Secret, else existingSecret's (optional), else unset
  DUBAN_SSO_KEY      ssoKey in the chart's Secret, else existingSecret's (optional), else unset
*/}}
{{- define "duban.validate" -}}
{{- $v := .Values -}}
{{- if not $v.config.baseDomain -}}
{{- fail "config.baseDomain is required (the public host, e.g. duban.example.gov.cn)" -}}
{{- end -}}
{{- if $v.existingSecret -}}
{{- $given := list -}}
{{- if $v.secretKey }}{{ $given = append $given "secretKey (SECRET_KEY)" }}{{ end -}}
{{- if $v.secretKeyFallbacks }}{{ $given = append $given "secretKeyFallbacks (SECRET_KEY_FALLBACKS)" }}{{ end -}}
{{- if $v.ssoKey }}{{ $given = append $given "ssoKey (DUBAN_SSO_KEY)" }}{{ end -}}
{{- if $v.email.url }}{{ $given = append $given "email.url (EMAIL_URL)" }}{{ end -}}
{{- if $v.sentry.dsn }}{{ $given = append $given "sentry.dsn (SENTRY_DSN)" }}{{ end -}}
{{- if $v.externalDatabase.password }}{{ $given = append $given "externalDatabase.password" }}{{ end -}}
{{- if $v.externalDatabase.owner.password }}{{ $given = append $given "externalDatabase.owner.password" }}{{ end -}}
{{- if $v.externalRedis.password }}{{ $given = append $given "externalRedis.password" }}{{ end -}}
{{- if $given -}}
{{- fail (printf "existingSecret %q is set, so the chart creates no Secret: move %s into it (passwords: externalDatabase.existingSecret / externalRedis.existingSecret)" $v.existingSecret (join ", " $given)) -}}
{{- end -}}
{{- else -}}
{{- if not $v.externalDatabase.host -}}
{{- fail "externalDatabase.host is empty: set it, or give DATABASE_URL in existingSecret" -}}
{{- end -}}
{{- if not $v.externalRedis.host -}}
{{- fail "externalRedis.host is empty: set it, or give CELERY_BROKER_URL in existingSecret" -}}
{{- end -}}
{{- end -}}
{{- if and $v.externalDatabase.existingSecret $v.externalDatabase.password -}}
{{- fail "externalDatabase: set password or existingSecret, not both" -}}
{{- end -}}
{{- $owner := $v.externalDatabase.owner -}}
{{- if and $owner.existingSecret $owner.password -}}
{{- fail "externalDatabase.owner: set password or existingSecret, not both" -}}
{{- end -}}
{{- if and $owner.enabled $v.externalDatabase.host (eq $owner.user $v.externalDatabase.user) -}}
{{- fail "externalDatabase.owner.user must differ from externalDatabase.user: the app role must own nothing" -}}
{{- end -}}
{{- if and $v.externalRedis.existingSecret $v.externalRedis.password -}}
{{- fail "externalRedis: set password or existingSecret, not both" -}}
{{- end -}}
{{- if and $v.persistence.enabled (not $v.persistence.existingClaim) (not $v.persistence.size) -}}
{{- fail "persistence.size is required when the chart creates the claim" -}}
{{- end -}}
{{- end -}}

{{/*
Data of the chart's Secret (keys named like the variables).
*/}}
{{- define "duban.secretData" -}}
SECRET_KEY: {{ include "duban.secretKey" . | b64enc | quote }}
{{- with .Values.secretKeyFallbacks }}
SECRET_KEY_FALLBACKS: {{ join "," . | b64enc | quote }}
{{- end }}
{{- with .Values.ssoKey }}
DUBAN_SSO_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- if and .Values.externalDatabase.host (not .Values.externalDatabase.existingSecret) }}
DATABASE_URL: {{ include "duban.databaseUrl" . | b64enc | quote }}
{{- end }}

{{- if and .Values.externalRedis.host (not .Values.externalRedis.existingSecret) }}
CELERY_BROKER_URL: {{ include "duban.brokerUrl" . | b64enc | quote }}
{{- end }}
{{- with .Values.email.url }}
EMAIL_URL: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.sentry.dsn }}
SENTRY_DSN: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/*
The owner's URL, in the migrations Job's own Secret only (web, worker and beat never see it).
*/}}
{{- define "duban.ownerSecretData" -}}
{{- if and .Values.externalDatabase.owner.enabled .Values.externalDatabase.host (not .Values.externalDatabase.owner.existingSecret) }}
DUBAN_OWNER_DATABASE_URL: {{ include "duban.ownerDatabaseUrl" . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/*
The non-secret environment (the ConfigMap's data; the migrations Job gets it inline).
*/}}
{{- define "duban.configData" -}}
{{- $c := .Values.config -}}
DJANGO_SETTINGS_MODULE: duban.settings.production
DUBAN_ENV: production
DUBAN_BASE_DOMAIN: {{ $c.baseDomain | quote }}
DUBAN_PUBLIC_PORT: {{ $c.publicPort | int64 | quote }}
{{- with $c.extraHosts }}
DUBAN_EXTRA_HOSTS: {{ join "," . | quote }}
{{- end }}
LOG_LEVEL: {{ $c.logLevel | quote }}
DATABASE_CONN_MAX_AGE: {{ $c.databaseConnMaxAge | int64 | quote }}
DATABASE_CONN_MAX_SCHEMAS: {{ $c.databaseConnMaxSchemas | int64 | quote }}
DUBAN_SPARE_SCHEMAS: {{ $c.spareSchemas | int64 | quote }}
DUBAN_SPARE_REFILL_SECONDS: {{ $c.spareRefillSeconds | int64 | quote }}
DUBAN_TASK_QUEUE: {{ $c.taskQueue | quote }}
DUBAN_SWEEP_SECONDS: {{ $c.sweepSeconds | int64 | quote }}
DUBAN_REPORT_CHECK_SECONDS: {{ $c.reportCheckSeconds | int64 | quote }}
DUBAN_HEARTBEAT_SECONDS: {{ $c.heartbeatSeconds | int64 | quote }}
{{- with $c.defaultFromEmail }}
DEFAULT_FROM_EMAIL: {{ . | quote }}
{{- end }}
DUBAN_MAX_UPLOAD_MB: {{ $c.maxUploadMb | int64 | quote }}
DUBAN_SESSION_AGE: {{ $c.sessionAge | int64 | quote }}
DUBAN_IDLE_TIMEOUT_SECONDS: {{ $c.idleTimeoutSeconds | int64 | quote }}
DUBAN_LOGIN_FAILURE_LIMIT: {{ $c.loginFailureLimit | int64 | quote }}
DUBAN_LOGIN_COOLOFF_MINUTES: {{ $c.loginCooloffMinutes | int64 | quote }}
DUBAN_TRUSTED_PROXIES: {{ $c.trustedProxies | toString | quote }}
DUBAN_IDEMPOTENCY_KEY_HOURS: {{ $c.idempotencyKeyHours | int64 | quote }}
DUBAN_OUTBOX_REDRIVE_SECONDS: {{ $c.outboxRedriveSeconds | int64 | quote }}
DUBAN_OUTBOX_GRACE_SECONDS: {{ $c.outboxGraceSeconds | int64 | quote }}
DUBAN_NOTIFY_RETRY_SECONDS: {{ $c.notifyRetrySeconds | int64 | quote }}
DUBAN_NOTIFY_MAX_ATTEMPTS: {{ $c.notifyMaxAttempts | int64 | quote }}
DUBAN_WEBHOOK_TIMEOUT: {{ $c.webhookTimeout | int64 | quote }}
{{- with $c.webhookAllowedHosts }}
DUBAN_WEBHOOK_ALLOWED_HOSTS: {{ join "," . | quote }}
{{- end }}
{{- with $c.webhookHttpHosts }}
DUBAN_WEBHOOK_HTTP_HOSTS: {{ join "," . | quote }}
{{- end }}
{{- with $c.webhookAllowedNetworks }}
DUBAN_WEBHOOK_ALLOWED_NETWORKS: {{ join "," . | quote }}
{{- end }}
{{- with $c.ssoAllowedHosts }}
DUBAN_SSO_ALLOWED_HOSTS: {{ join "," . | quote }}
{{- end }}
{{- with $c.ssoHttpHosts }}
DUBAN_SSO_HTTP_HOSTS: {{ join "," . | quote }}
{{- end }}
DUBAN_WECOM_API_BASE: {{ $c.wecomApiBase | quote }}
DUBAN_DINGTALK_API_BASE: {{ $c.dingtalkApiBase | quote }}
DUBAN_ALIYUN_SMS_ENDPOINT: {{ $c.aliyunSmsEndpoint | quote }}
DUBAN_TENCENT_SMS_ENDPOINT: {{ $c.tencentSmsEndpoint | quote }}
DUBAN_PHONE_LINK_DAYS: {{ $c.phoneLinkDays | int64 | quote }}
DUBAN_COMPARISON_DEBOUNCE_SECONDS: {{ $c.comparisonDebounceSeconds | int64 | quote }}
DUBAN_COMPARISON_REFRESH_SECONDS: {{ $c.comparisonRefreshSeconds | int64 | quote }}
API_THROTTLE_USER: {{ $c.apiThrottleUser | quote }}
API_THROTTLE_ANON: {{ $c.apiThrottleAnon | quote }}
DUBAN_SSL_REDIRECT: {{ $c.sslRedirect | quote }}
DUBAN_HSTS_SECONDS: {{ $c.hstsSeconds | int64 | quote }}
DUBAN_DATA_DIR: {{ $c.dataDir | quote }}
DUBAN_MEDIA_ROOT: {{ $c.mediaRoot | quote }}
{{- with $c.staticRoot }}
DUBAN_STATIC_ROOT: {{ . | quote }}
{{- end }}
SENTRY_TRACES_SAMPLE_RATE: {{ .Values.sentry.tracesSampleRate | quote }}
{{- range $name, $value := $c.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
Environment of every container: process-level settings, the secret variables, extras.
include "duban.env" (dict "context" $ "chartSecret" <name of the chart's Secret to read>)
*/}}
{{- define "duban.env" -}}
{{- $ := .context -}}
{{- $v := $.Values -}}
{{- /* existingSecret, else the chart's Secret (the migrations hook passes its copy). */ -}}
{{- $source := ternary (include "duban.secretName" $) .chartSecret (not (empty $v.existingSecret)) -}}
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/.cache
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $source }}
      key: SECRET_KEY
- name: SECRET_KEY_FALLBACKS
  valueFrom:
    secretKeyRef:
      name: {{ $source }}
      key: SECRET_KEY_FALLBACKS
      optional: true
- name: DUBAN_SSO_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $source }}
      key: DUBAN_SSO_KEY
      optional: true
{{- if $v.externalDatabase.host }}
{{- if $v.externalDatabase.existingSecret }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalDatabase.existingSecret }}
      key: {{ $v.externalDatabase.existingSecretPasswordKey }}
- name: DATABASE_URL
  value: {{ include "duban.databaseUrl" $ | quote }}
{{- else if and $v.existingSecret (not $v.externalDatabase.password) }}
- name: DATABASE_URL
  value: {{ include "duban.databaseUrl" $ | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .chartSecret }}
      key: DATABASE_URL
{{- end }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: DATABASE_URL
{{- end }}
{{- if and .owner $v.externalDatabase.owner.enabled }}
{{- /* The owner's connection: the migrations Job only, never web, worker or beat. */}}
{{- if not $v.externalDatabase.host }}
- name: DUBAN_OWNER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: DUBAN_OWNER_DATABASE_URL
{{- else if $v.externalDatabase.owner.existingSecret }}
- name: DUBAN_OWNER_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalDatabase.owner.existingSecret }}
      key: {{ $v.externalDatabase.owner.existingSecretPasswordKey }}
- name: DUBAN_OWNER_DATABASE_URL
  value: {{ include "duban.ownerDatabaseUrl" $ | quote }}
{{- else if and $v.existingSecret (not $v.externalDatabase.owner.password) }}
- name: DUBAN_OWNER_DATABASE_URL
  value: {{ include "duban.ownerDatabaseUrl" $ | quote }}
{{- else }}
- name: DUBAN_OWNER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .chartSecret }}
      key: DUBAN_OWNER_DATABASE_URL
{{- end }}
{{- end }}
{{- if $v.externalRedis.host }}
{{- if $v.externalRedis.existingSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalRedis.existingSecret }}
      key: {{ $v.externalRedis.existingSecretPasswordKey }}
- name: CELERY_BROKER_URL
  value: {{ include "duban.brokerUrl" $ | quote }}
{{- else if and $v.existingSecret (not $v.externalRedis.password) }}
- name: CELERY_BROKER_URL
  value: {{ include "duban.brokerUrl" $ | quote }}
{{- else }}
- name: CELERY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .chartSecret }}
      key: CELERY_BROKER_URL
{{- end }}
{{- if $v.externalRedis.sharedCache }}
{{- /* The same Redis as Django's cache (keys prefixed duban-cache): host lookups and throttles shared by every pod. */}}
- name: DUBAN_CACHE_URL
  value: "$(CELERY_BROKER_URL)"
{{- end }}
{{- else }}
- name: CELERY_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: CELERY_BROKER_URL
{{- end }}
{{- if $v.existingSecret }}
- name: EMAIL_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: EMAIL_URL
      optional: true
- name: SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret }}
      key: SENTRY_DSN
      optional: true
{{- else }}
{{- if $v.email.url }}
- name: EMAIL_URL
  valueFrom:
    secretKeyRef:
      name: {{ .chartSecret }}
      key: EMAIL_URL
{{- end }}
{{- if $v.sentry.dsn }}
- name: SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ .chartSecret }}
      key: SENTRY_DSN
{{- end }}
{{- end }}
{{- with $v.extraEnvVars }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
envFrom of the long-running containers: the ConfigMap, plus extraEnvVarsSecret.
*/}}
{{- define "duban.envFrom" -}}
- configMapRef:
    name: {{ include "duban.fullname" . }}
{{- with .Values.extraEnvVarsSecret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod-level security context, without the "enabled" switch.
*/}}
{{- define "duban.podSecurityContext" -}}
{{- if .Values.podSecurityContext.enabled -}}
securityContext:
  {{- toYaml (omit .Values.podSecurityContext "enabled") | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "duban.containerSecurityContext" -}}
{{- if .Values.containerSecurityContext.enabled -}}
securityContext:
  {{- toYaml (omit .Values.containerSecurityContext "enabled") | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
Volumes of every pod: /tmp (emptyDir), the media volume (include "duban.volumes" (dict "context" $ "media" true)).
*/}}
{{- define "duban.volumes" -}}
{{- $v := .context.Values -}}
- name: tmp
  emptyDir:
    {{- with $v.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with $v.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- if .media }}
- name: media
{{- if $v.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-media" (include "duban.fullname" .context)) $v.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "duban.volumeMounts" -}}
{{- $v := .context.Values -}}
- name: tmp
  mountPath: /tmp
{{- if .media }}
- name: media
  mountPath: {{ $v.config.mediaRoot }}
{{- end }}
{{- with $v.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
An httpGet probe of web on `path`, with Host: config.baseDomain — the probe comes from the
kubelet with the pod IP as Host, which ALLOWED_HOSTS and the host routing refuse (404);
/healthz and /readyz are exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT).
include "duban.httpProbe" (dict "context" $ "path" "/healthz" "probe" .Values.web.livenessProbe)
*/}}
{{- define "duban.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
  httpHeaders:
    - name: Host
      value: {{ .context.Values.config.baseDomain | quote }}
{{ toYaml (omit .probe "enabled") }}
{{- end -}}

{{/*
Checksums that restart the pods when the configuration or the chart's Secret changes.
*/}}
{{- define "duban.checksums" -}}
checksum/config: {{ include "duban.configData" . | sha256sum }}
{{- if include "duban.createSecret" . }}
{{- /* A generated SECRET_KEY is left out: it would change on every `helm template`. */}}
checksum/secret: {{ printf "%s\n%s" (omit (include "duban.secretData" . | fromYaml) "SECRET_KEY" | toYaml) .Values.secretKey | sha256sum }}
{{- end }}
{{- end -}}

{{/*
One container of the migrations Job: `duban <args>` with the configuration inline.
include "duban.migrationContainer" (dict "context" $ "name" "migrate-shared" "args" (list …) "chartSecret" <hook Secret>)
*/}}
{{- define "duban.migrationContainer" -}}
{{- $ := .context -}}
- name: {{ .name }}
  image: {{ include "duban.image" $ }}
  imagePullPolicy: {{ $.Values.image.pullPolicy }}
  command:
    - duban
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- range $key, $value := include "duban.configData" $ | fromYaml }}
    - name: {{ $key }}
      value: {{ $value | toString | quote }}
    {{- end }}
    {{- include "duban.env" (dict "context" $ "chartSecret" .chartSecret "owner" true) | nindent 4 }}
  {{- with $.Values.extraEnvVarsSecret }}
  envFrom:
    - secretRef:
        name: {{ . }}
  {{- end }}
  {{- with $.Values.migrations.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "duban.containerSecurityContext" $ }}
  {{- . | nindent 2 }}
  {{- end }}
  volumeMounts:
    {{- include "duban.volumeMounts" (dict "context" $ "media" false) | nindent 4 }}
{{- end -}}

{{/*
Egress rules of every Duban pod when networkPolicy.allowExternalEgress is false.
*/}}
{{/*
Egress of worker pods (networkPolicy.worker.restrictEgress): they send the group-robot webhooks,
whose addresses county admins choose, so the webhook ports reach public addresses only (0.0.0.0/0
and ::/0 minus the non-public blocks) and the operator's config.webhookAllowedNetworks; DNS,
PostgreSQL, Redis and SMTP as for the others; networkPolicy.extraEgress does not apply.
*/}}
{{- define "duban.workerEgress" -}}
{{- $w := .Values.networkPolicy.worker -}}
egress:
  # DNS
  - ports:
      - port: 53
        protocol: UDP
      - port: 53
        protocol: TCP
  # PostgreSQL and Redis (wherever they run)
  - ports:
      - port: {{ .Values.externalDatabase.port }}
        protocol: TCP
      - port: {{ .Values.externalRedis.port }}
        protocol: TCP
  {{- with $w.smtpPorts }}
  # SMTP (the relay may be internal)
  - ports:
      {{- range . }}
      - port: {{ . }}
        protocol: TCP
      {{- end }}
  {{- end }}
  {{- with $w.webhookPorts }}
  # Group-robot webhooks (and Sentry): public addresses only
  - ports:
      {{- range $w.webhookPorts }}
      - port: {{ . }}
        protocol: TCP
      {{- end }}
    to:
      - ipBlock:
          cidr: 0.0.0.0/0
          {{- with $w.nonPublicIPv4 }}
          except:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      - ipBlock:
          cidr: ::/0
          {{- with $w.nonPublicIPv6 }}
          except:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- range $.Values.config.webhookAllowedNetworks }}
      - ipBlock:
          cidr: {{ . | quote }}
      {{- end }}
  {{- end }}
  {{- with $w.extraEgress }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{- define "duban.networkPolicyEgress" -}}
{{- $np := .Values.networkPolicy -}}
egress:
  # DNS
  - ports:
      - port: 53
        protocol: UDP
      - port: 53
        protocol: TCP
  # PostgreSQL and Redis (wherever they run)
  - ports:
      - port: {{ .Values.externalDatabase.port }}
        protocol: TCP
      - port: {{ .Values.externalRedis.port }}
        protocol: TCP
  {{- with $np.extraEgress }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
