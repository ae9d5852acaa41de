#!/usr/bin/env bash
# Installs ArrestCast on a faasd host (Debian/Ubuntu, run as root):
#   1. faasd (if missing) with its own installer, and faas-cli;
#   2. MinIO, PostgreSQL and the cron-connector appended to /var/lib/faasd/docker-compose.yaml;
#   3. the OpenFaaS secrets the functions read;
#   4. `faas-cli up -f stack.yml`, then `setup` (buckets, lifecycle rule, notifications).
# Re-running it is safe: existing secrets and services are kept.
# Needs: REGISTRY (where `faas-cli up` pushes images; faasd always pulls), optional
# SOCRATA_APP_TOKEN. Run from the repository root: sudo REGISTRY=ghcr.io/you faasd/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${REGISTRY:?set REGISTRY to the image registry faas-cli pushes to (faasd pulls from it)}"
FAASD_DIR=/var/lib/faasd
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

# Services: appended once, placeholders filled in.
if ! grep -q "^  minio:" "$COMPOSE"; then
  cp "$COMPOSE" "$COMPOSE.bak.$(date +%s)"
  sed -e "s|__MINIO_ROOT_USER__|$MINIO_USER|" -e "s|__MINIO_ROOT_PASSWORD__|$MINIO_PASS|" \
      -e "s|__PIPELINE_TOKEN__|$TOKEN|g" -e "s|__POSTGRES_PASSWORD__|$PG_PASS|" \
      faasd/docker-compose.services.yaml | grep -v '^#' >> "$COMPOSE"
  chmod 0600 "$COMPOSE"
  install -d "$FAASD_DIR/minio/data" "$FAASD_DIR/minio/events" "$FAASD_DIR/postgres/data"
  chown -R 70:70 "$FAASD_DIR/postgres"   # the postgres image's uid
  systemctl restart faasd
fi

# faas-cli needs the gateway's admin password.
export OPENFAAS_URL=${OPENFAAS_URL:-http://127.0.0.1:8080}
cat /var/lib/faasd/secrets/basic-auth-password | faas-cli login --username admin --password-stdin

secret() { faas-cli secret create "$1" --from-literal "$2" 2>/dev/null || faas-cli secret update "$1" --from-literal "$2"; }
secret arrestcast-minio-access-key "$MINIO_USER"
secret arrestcast-minio-secret-key "$MINIO_PASS"
secret arrestcast-database-url "postgres://arrestcast:$PG_PASS@postgres:5432/arrestcast?sslmode=disable"
secret arrestcast-pipeline-token "$TOKEN"
secret arrestcast-socrata-app-token "${SOCRATA_APP_TOKEN:-}"

REGISTRY=$REGISTRY faas-cli up -f stack.yml

# setup: buckets, 60-day lifecycle on 2-processed-data/, notification rules from the chain table.
curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -d '{"as_of":"'"$(date -u +%F)"'"}' "$OPENFAAS_URL/function/setup"
echo
echo "ArrestCast is deployed. The cron-connector runs download monthly; follow it with: faas-cli logs download"
