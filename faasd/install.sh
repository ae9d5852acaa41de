#!/usr/bin/env bash
# Installs ArrestCast on a faasd host (Debian/Ubuntu, run as root):
#   1. faasd (if missing) with its own installer, and faas-cli;
#   2. MinIO, PostgreSQL and the cron-connector appended to /var/lib/faasd/docker-compose.yaml;
#   3. the OpenFaaS secrets the functions read;
#   4. `faas-cli up -f stack.yml`, then `setup` (buckets, lifecycle rule, notifications).
# Re-running it is safe: existing services are kept, secrets are set again.
# Needs: REGISTRY (where `faas-cli up` pushes images; faasd always pulls); optional:
# the Socrata app token in /var/lib/faasd/arrestcast/socrata-app-token (or SOCRATA_APP_TOKEN
# in the environment), the monitor's alert webhook in .../alert-webhook-url (or ALERT_WEBHOOK_URL),
# GIT_COMMIT (default: the repository's commit). faas-cli >= 0.17.2.
# Run from the repository root: sudo REGISTRY=ghcr.io/you faasd/install.sh
# No secret is ever put on a command line (ps shows those to every user): values reach
# faas-cli and curl on stdin, written by bash's own printf, and the compose file is
# filled in by bash itself.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${REGISTRY:?set REGISTRY to the image registry faas-cli pushes to (faasd pulls from it)}"
FAASD_DIR=${FAASD_DIR:-/var/lib/faasd}   # only tests point it elsewhere
COMPOSE=$FAASD_DIR/docker-compose.yaml
STATE=$FAASD_DIR/arrestcast          # generated credentials, root-only
[ "$(id -u)" = 0 ] || { echo "run as root (sudo)"; exit 1; }

if ! command -v faasd >/dev/null; then
  echo "Installing faasd with its official installer (see https://github.com/openfaas/faasd)"
  command -v git >/dev/null || apt-get install -y git
  tmp=$(mktemp -d); git clone --depth 1 https://github.com/openfaas/faasd "$tmp/faasd"
  (cd "$tmp/faasd" && ./hack/install.sh)
fi
command -v faas-cli >/dev/null || { echo "faas-cli is missing: curl -sLS https://cli.openfaas.com | sh"; exit 1; }

# Credentials: generated once, kept in $STATE (0700).
install -d -m 0700 "$STATE"
gen() { [ -s "$STATE/$1" ] || head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$STATE/$1"; cat "$STATE/$1"; }
MINIO_USER=arrestcast
MINIO_PASS=$(gen minio-password)
PG_PASS=$(gen postgres-password)
TOKEN=$(gen pipeline-token)
# The Socrata app token (optional): SOCRATA_APP_TOKEN, else the file $STATE/socrata-app-token.
SOCRATA=${SOCRATA_APP_TOKEN:-}
if [ -z "$SOCRATA" ] && [ -s "$STATE/socrata-app-token" ]; then
  SOCRATA=$(< "$STATE/socrata-app-token")
fi
# The monitor's alert webhook (optional): ALERT_WEBHOOK_URL, else the file $STATE/alert-webhook-url.
ALERT=${ALERT_WEBHOOK_URL:-}
if [ -z "$ALERT" ] && [ -s "$STATE/alert-webhook-url" ]; then
  ALERT=$(< "$STATE/alert-webhook-url")
fi

# The services with their placeholders filled in, without the file's header comment.
# Quoted replacements: bash >= 5.2 would read & in them as the matched text.
services() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in '#'*) continue ;; esac
    line=${line//__MINIO_ROOT_USER__/"$MINIO_USER"}
    line=${line//__MINIO_ROOT_PASSWORD__/"$MINIO_PASS"}
    line=${line//__PIPELINE_TOKEN__/"$TOKEN"}
    line=${line//__POSTGRES_PASSWORD__/"$PG_PASS"}
    printf '%s\n' "$line"
  done < faasd/docker-compose.services.yaml
}

# Services: appended once.
if ! grep -q "^  minio:" "$COMPOSE"; then
  cp "$COMPOSE" "$COMPOSE.bak.$(date +%s)"
  chmod 0600 "$COMPOSE"
  services >> "$COMPOSE"
  install -d "$FAASD_DIR/minio/data" "$FAASD_DIR/minio/events" "$FAASD_DIR/postgres/data"
  chown -R 70:70 "$FAASD_DIR/postgres"   # the postgres image's uid
  systemctl restart faasd
fi

# faas-cli needs the gateway's admin password.
export OPENFAAS_URL=${OPENFAAS_URL:-http://127.0.0.1:8080}
faas-cli login --username admin --password-stdin < "$FAASD_DIR/secrets/basic-auth-password"

# One secret, its value on faas-cli's stdin. --replace updates one that exists. faas-cli
# refuses an empty value, so an absent optional one is a newline kept with --trim=false
# (the functions trim it to "", i.e. none). faas-cli exits 0 even when the gateway
# refuses: the list below checks every secret is there.
secret() {
  if [ -n "$2" ]; then
    printf '%s' "$2" | faas-cli secret create "$1" --replace
  else
    printf '\n' | faas-cli secret create "$1" --replace --trim=false
  fi
}
secret arrestcast-minio-access-key "$MINIO_USER"
secret arrestcast-minio-secret-key "$MINIO_PASS"
secret arrestcast-database-url "postgres://arrestcast:$PG_PASS@postgres:5432/arrestcast?sslmode=disable"
secret arrestcast-pipeline-token "$TOKEN"
secret arrestcast-socrata-app-token "$SOCRATA"
secret arrestcast-alert-webhook-url "$ALERT"
have=$(faas-cli secret list)
for name in arrestcast-minio-access-key arrestcast-minio-secret-key arrestcast-database-url \
            arrestcast-pipeline-token arrestcast-socrata-app-token arrestcast-alert-webhook-url; do
  grep -qx "$name" <<<"$have" || { echo "secret $name was not created (see faas-cli's answer above)"; exit 1; }
done

# The code version stamped into every function (stack.yml's build_args): the commit, -dirty
# with local changes. safe.directory: under sudo the checkout belongs to another user.
if [ -z "${GIT_COMMIT:-}" ] && command -v git >/dev/null &&
   GIT_COMMIT=$(git -c safe.directory="$PWD" rev-parse --short HEAD 2>/dev/null); then
  [ -z "$(git -c safe.directory="$PWD" --no-optional-locks status --porcelain --untracked-files=no)" ] ||
    GIT_COMMIT=$GIT_COMMIT-dirty
fi
GIT_COMMIT=${GIT_COMMIT:-dev} REGISTRY=$REGISTRY faas-cli up -f stack.yml

# setup: buckets, 60-day lifecycle on 2-processed-data/, notification rules from the chain table.
# The token goes in a curl config read from stdin, not in -H.
printf 'header = "Authorization: Bearer %s"\n' "$TOKEN" |
  curl -fsS --config - -X POST -d '{"as_of":"'"$(date -u +%F)"'"}' "$OPENFAAS_URL/function/setup"
echo
echo "ArrestCast is deployed. The cron-connector runs download monthly; follow it with: faas-cli logs download"
